// Package settlement is the pure business core of medical-insurance
// settlement in the NHSA 定点医药机构接口规范 style: envelope and input types
// with their validation, pricing of fee details against the treatment
// place's catalogue (就医地目录), the benefit calculation with the insured
// place's policy and the person's yearly accumulators (参保地政策), and the
// monthly cross-province clearing arithmetic.
//
// The package does no I/O and reads no clock: every function is a pure
// computation over its arguments. It depends only on the standard library
// and internal/fen. Storage, routing, signing and idempotency belong to the
// settlement service built on top of it. See DESIGN.md for the formulas.
package settlement
