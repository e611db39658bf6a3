package catalog

import (
	"fmt"
	"strconv"
)

// Op is what a Change does to the catalogue.
type Op uint8

// The operations.
const (
	OpAdd    Op = 1 // a new code
	OpChange Op = 2 // new values for an existing code
	OpRetire Op = 3 // the code leaves the catalogue
)

// String returns "add", "change" or "retire".
func (o Op) String() string {
	switch o {
	case OpAdd:
		return "add"
	case OpChange:
		return "change"
	case OpRetire:
		return "retire"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Change is one entry of a published batch. For OpRetire only Item.Code is
// significant; Diff fills in the retired item's last values.
type Change struct {
	Op   Op
	Item Item
}

// Diff returns the changes that turn old into new, sorted by code: OpAdd
// for codes only in new, OpChange for codes in both whose values differ,
// OpRetire for codes only in old. Codes must be unique within each list;
// neither list needs to be sorted and neither is modified.
func Diff(old, new []Item) []Change {
	oldBy := make(map[string]*Item, len(old))
	for i := range old {
		oldBy[old[i].Code] = &old[i]
	}
	var out []Change
	seen := make(map[string]bool, len(new))
	for i := range new {
		n := &new[i]
		seen[n.Code] = true
		o, ok := oldBy[n.Code]
		switch {
		case !ok:
			out = append(out, Change{Op: OpAdd, Item: *n})
		case !Equal(o, n):
			out = append(out, Change{Op: OpChange, Item: *n})
		}
	}
	for i := range old {
		if !seen[old[i].Code] {
			out = append(out, Change{Op: OpRetire, Item: old[i]})
		}
	}
	SortChanges(out)
	return out
}

// Apply returns the catalogue that results from applying cs to items, sorted
// by code. It fails, changing nothing, when an add names an existing code or
// a change or retire names a missing one. items is not modified.
func Apply(items []Item, cs []Change) ([]Item, error) {
	by := make(map[string]int, len(items)+len(cs))
	cur := make([]Item, len(items), len(items)+len(cs))
	copy(cur, items)
	live := make([]bool, len(items), len(items)+len(cs))
	for i := range cur {
		by[cur[i].Code] = i
		live[i] = true
	}
	for i := range cs {
		c := &cs[i]
		idx, ok := by[c.Item.Code]
		switch c.Op {
		case OpAdd:
			if ok {
				return nil, fmt.Errorf("apply change %d: add %q: code exists", i, c.Item.Code)
			}
			by[c.Item.Code] = len(cur)
			cur = append(cur, c.Item)
			live = append(live, true)
		case OpChange:
			if !ok {
				return nil, fmt.Errorf("apply change %d: change %q: no such code", i, c.Item.Code)
			}
			cur[idx] = c.Item
		case OpRetire:
			if !ok {
				return nil, fmt.Errorf("apply change %d: retire %q: no such code", i, c.Item.Code)
			}
			live[idx] = false
			delete(by, c.Item.Code)
		default:
			return nil, fmt.Errorf("apply change %d (%q): unknown op %d", i, c.Item.Code, c.Op)
		}
	}
	out := make([]Item, 0, len(by))
	for i := range cur {
		if live[i] {
			out = append(out, cur[i])
		}
	}
	SortItems(out)
	return out, nil
}

// CheckBatch validates a batch for namespace ns before it is published or
// applied: changes sorted by strictly increasing code, known ops, full
// items for adds and changes, a valid code for retires. It returns nil or
// an error naming the first problem.
func CheckBatch(ns Namespace, cs []Change) error {
	base, prov, err := ParseNamespace(string(ns))
	if err != nil {
		return fmt.Errorf("check batch: %w", err)
	}
	for i := range cs {
		c := &cs[i]
		if i > 0 && cs[i-1].Item.Code >= c.Item.Code {
			return fmt.Errorf("check batch: change %d: code %q after %q: %w", i, c.Item.Code, cs[i-1].Item.Code, ErrNotCanonical)
		}
		switch c.Op {
		case OpAdd, OpChange:
			if errs := Check(ns, &c.Item); len(errs) > 0 {
				return fmt.Errorf("check batch: change %d (%s %q): %w", i, c.Op, c.Item.Code, errs[0])
			}
		case OpRetire:
			if err := validateIn(base, prov, c.Item.Code); err != nil {
				return fmt.Errorf("check batch: change %d (retire %q): %w", i, c.Item.Code, err)
			}
		default:
			return fmt.Errorf("check batch: change %d (%q): unknown op %d", i, c.Item.Code, c.Op)
		}
	}
	return nil
}
