module github.com/tjfoc/gmsm

go 1.14

require (
	github.com/golang/protobuf v1.4.2
	golang.org/x/crypto v0.0.0-20201012173705-84dcc777aaee
	golang.org/x/net v0.0.0-20201010224723-4f7140c49acb
	google.golang.org/grpc v1.31.0
)
