package subsystem

import "testing"

func TestDescriptorValidate(t *testing.T) {
	tests := []struct {
		name string
		d    Descriptor
		ok   bool
	}{
		{"good", Descriptor{Name: "payment", Title: "支付方式管理", Permissions: []Permission{{Code: "payment.group"}}}, true},
		{"upper name", Descriptor{Name: "Payment", Title: "x"}, false},
		{"no title", Descriptor{Name: "payment"}, false},
		{"foreign permission", Descriptor{Name: "payment", Title: "x", Permissions: []Permission{{Code: "credit.read"}}}, false},
		{"bare prefix", Descriptor{Name: "payment", Title: "x", Permissions: []Permission{{Code: "payment."}}}, false},
		{"duplicate", Descriptor{Name: "payment", Title: "x", Permissions: []Permission{{Code: "payment.a"}, {Code: "payment.a"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.d.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
