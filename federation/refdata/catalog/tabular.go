package catalog

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// DefaultMaxErrors is how many row errors an import collects by default.
const DefaultMaxErrors = 100

// ImportOptions controls an import.
type ImportOptions struct {
	Namespace Namespace // the catalogue the rows belong to (required)
	DryRun    bool      // validate only: the result holds no items
	MaxErrors int       // errors collected before giving up; 0 means DefaultMaxErrors
	Strict    bool      // unknown columns are errors instead of attributes
	Sheet     string    // XLSX sheet name; "" means the first sheet
	// Headers adds header mappings: a header (matched case-insensitively)
	// to a field name (FieldPriceCap, ...) or to an attribute key. They take
	// precedence over the built-in aliases.
	Headers map[string]string
	// Progress, when set, is called every ProgressEvery rows and once at
	// the end.
	Progress      func(Progress)
	ProgressEvery int // 0 means 1000
}

// Progress reports how far an import is. Done and Total count bytes for CSV
// and rows for XLSX; Total is -1 when unknown.
type Progress struct {
	Rows        int // data rows read so far
	Done, Total int64
}

// ImportResult is the outcome of a successful import.
type ImportResult struct {
	Items []Item // sorted by code; nil in a dry run
	Rows  int    // data rows read
}

// RowError is one problem in an imported file. Row is the 1-based row (line)
// number as a spreadsheet shows it; 0 is a file-level problem. Column is the
// column letter ("" when the problem is not in one cell).
type RowError struct {
	Row    int
	Column string
	Field  string
	Reason string
}

// String returns e.g. `row 1042, column C (price_cap): "12.345" has 3 decimals`.
func (e RowError) String() string {
	var b strings.Builder
	if e.Row > 0 {
		fmt.Fprintf(&b, "row %d", e.Row)
	}
	if e.Column != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "column %s (%s)", e.Column, e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// ImportError holds every problem an import found (up to its limit).
type ImportError struct {
	File      string
	Errors    []RowError
	Truncated bool // more problems were found than were collected
}

// Error returns the first problem and how many more there are.
func (e *ImportError) Error() string {
	if len(e.Errors) == 0 {
		return e.File + ": import failed"
	}
	s := e.File + ": " + e.Errors[0].String()
	switch more := len(e.Errors) - 1; {
	case e.Truncated:
		s += fmt.Sprintf(" (and more than %d further errors)", more)
	case more > 0:
		s += fmt.Sprintf(" (and %d more errors)", more)
	}
	return s
}

// Lines returns one line per problem, each prefixed with the file name.
func (e *ImportError) Lines() []string {
	out := make([]string, 0, len(e.Errors)+1)
	for _, re := range e.Errors {
		out = append(out, e.File+": "+re.String())
	}
	if e.Truncated {
		out = append(out, e.File+": too many errors, stopped")
	}
	return out
}

// ImportFile imports a .csv or .xlsx file by its extension.
func ImportFile(path string, opt ImportOptions) (*ImportResult, error) {
	name := filepath.Base(path)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", name, err)
		}
		defer f.Close()
		size := int64(-1)
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		return importCSV(f, name, size, opt)
	case ".xlsx":
		x, err := excelize.OpenFile(path)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", name, err)
		}
		defer x.Close()
		return importXLSX(x, name, opt)
	}
	return nil, fmt.Errorf("import %s: want a .csv or .xlsx file", name)
}

// ImportCSV imports CSV text (UTF-8, optional BOM, header row first) read
// from r; name is used in error messages.
func ImportCSV(r io.Reader, name string, opt ImportOptions) (*ImportResult, error) {
	return importCSV(r, name, -1, opt)
}

// ImportXLSX imports a workbook read from r; name is used in error messages.
func ImportXLSX(r io.Reader, name string, opt ImportOptions) (*ImportResult, error) {
	x, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	defer x.Close()
	return importXLSX(x, name, opt)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

// Read reads from the underlying reader and counts the bytes.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func importCSV(r io.Reader, name string, size int64, opt ImportOptions) (*ImportResult, error) {
	cr := &countingReader{r: r}
	cs := csv.NewReader(cr)
	cs.FieldsPerRecord = -1
	cs.ReuseRecord = true
	im := newImporter(name, opt)
	for {
		rec, err := cs.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				im.fail(RowError{Row: pe.Line, Reason: "CSV syntax: " + pe.Err.Error()})
			} else {
				im.fail(RowError{Reason: err.Error()})
			}
			break
		}
		line, _ := cs.FieldPos(0)
		if !im.row(line, rec) {
			break
		}
		im.progress(cr.n, size, false)
	}
	im.progress(cr.n, size, true)
	return im.result()
}

func importXLSX(x *excelize.File, name string, opt ImportOptions) (*ImportResult, error) {
	sheet := opt.Sheet
	if sheet == "" {
		sheets := x.GetSheetList()
		if len(sheets) == 0 {
			return nil, fmt.Errorf("import %s: no sheets", name)
		}
		sheet = sheets[0]
	}
	rows, err := x.Rows(sheet)
	if err != nil {
		return nil, fmt.Errorf("import %s: sheet %q: %w", name, sheet, err)
	}
	defer rows.Close()
	im := newImporter(name, opt)
	n := 0
	for rows.Next() {
		n++
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			im.fail(RowError{Row: n, Reason: err.Error()})
			break
		}
		if !im.row(n, rec) {
			break
		}
		im.progress(int64(n), -1, false)
	}
	if err := rows.Error(); err != nil {
		im.fail(RowError{Row: n, Reason: err.Error()})
	}
	im.progress(int64(n), int64(n), true)
	return im.result()
}

// column is how one input column is read.
type column struct {
	letter string
	field  string // a field name, or "" for an attribute
	attr   string
}

// importer turns rows into items, collecting errors.
type importer struct {
	name     string
	opt      ImportOptions
	cols     []column
	codeCol  int
	header   bool
	rows     int
	items    []Item
	seen     map[string]int // code -> row
	headers  map[string]string
	errs     []RowError
	trunc    bool
	lastProg int
}

func newImporter(name string, opt ImportOptions) *importer {
	if opt.MaxErrors <= 0 {
		opt.MaxErrors = DefaultMaxErrors
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 1000
	}
	im := &importer{name: name, opt: opt, seen: make(map[string]int), headers: make(map[string]string)}
	for h, to := range opt.Headers {
		im.headers[strings.ToLower(strings.TrimSpace(h))] = to
	}
	if !opt.Namespace.Known() {
		if _, _, err := ParseNamespace(string(opt.Namespace)); err != nil {
			im.fail(RowError{Reason: err.Error()})
		}
	}
	return im
}

// fail records a problem; it reports whether collecting may go on.
func (im *importer) fail(e RowError) bool {
	if len(im.errs) >= im.opt.MaxErrors {
		im.trunc = true
		return false
	}
	im.errs = append(im.errs, e)
	return true
}

func (im *importer) progress(done, total int64, final bool) {
	if im.opt.Progress == nil {
		return
	}
	if !final && im.rows-im.lastProg < im.opt.ProgressEvery {
		return
	}
	im.lastProg = im.rows
	im.opt.Progress(Progress{Rows: im.rows, Done: done, Total: total})
}

// row handles one input row; it returns false to stop reading.
func (im *importer) row(n int, rec []string) bool {
	if len(im.errs) > 0 && im.errs[0].Row == 0 && !im.header {
		return false // the namespace itself is bad
	}
	if !im.header && len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // a UTF-8 byte-order mark
	}
	last := -1 // the last non-empty cell
	for i, c := range rec {
		if strings.TrimSpace(c) != "" {
			last = i
		}
	}
	if last < 0 {
		return true // blank rows are skipped, also before the header
	}
	if !im.header {
		im.header = true
		return im.readHeader(rec[:last+1])
	}
	im.rows++
	if last >= len(im.cols) {
		letter, _ := excelize.ColumnNumberToName(last + 1)
		return im.fail(RowError{Row: n, Reason: fmt.Sprintf("a value in column %s, but the header has %d columns", letter, len(im.cols))})
	}
	var it Item
	ok := true
	for i, col := range im.cols {
		s := ""
		if i < len(rec) {
			s = strings.TrimSpace(rec[i])
		}
		if col.field == "" {
			if s != "" {
				if it.Attrs == nil {
					it.Attrs = make(map[string]string)
				}
				it.Attrs[col.attr] = s
			}
			continue
		}
		if err := setField(&it, col.field, s); err != nil {
			ok = false
			if !im.fail(RowError{Row: n, Column: col.letter, Field: col.field, Reason: err.Error()}) {
				return false
			}
		}
	}
	if !ok {
		return true
	}
	for _, fe := range Check(im.opt.Namespace, &it) {
		if !im.fail(RowError{Row: n, Column: im.letterOf(fe.Field), Field: fe.Field, Reason: fmt.Sprintf("%q %s", fe.Value, fe.Reason)}) {
			return false
		}
		ok = false
	}
	if prev, dup := im.seen[it.Code]; dup && it.Code != "" {
		return im.fail(RowError{Row: n, Column: im.cols[im.codeCol].letter, Field: FieldCode, Reason: fmt.Sprintf("%q duplicates row %d", it.Code, prev)})
	}
	im.seen[it.Code] = n
	if ok && len(im.errs) == 0 && !im.opt.DryRun {
		im.items = append(im.items, it)
	}
	return true
}

func (im *importer) letterOf(field string) string {
	for _, c := range im.cols {
		if c.field == field || c.field == "" && c.attr == field {
			return c.letter
		}
	}
	return ""
}

func (im *importer) readHeader(rec []string) bool {
	have := make(map[string]string) // field or attr -> letter
	im.codeCol = -1
	nameCol := -1
	for i, h := range rec {
		letter, _ := excelize.ColumnNumberToName(i + 1)
		h = strings.TrimSpace(h)
		key := strings.ToLower(h)
		col := column{letter: letter}
		if to, ok := im.headers[key]; ok {
			key = to
		}
		if f, ok := fieldAliases[key]; ok {
			col.field = f
		} else if err := checkAttrKey(key); err != nil || im.opt.Strict {
			reason := fmt.Sprintf("unknown column %q (fields: %s", h, strings.Join(Fields(), ", "))
			if im.opt.Strict {
				reason += ")"
			} else {
				reason += "; other columns become attributes and need names of [a-z0-9_])"
			}
			if !im.fail(RowError{Row: 1, Column: letter, Field: h, Reason: reason}) {
				return false
			}
			col.attr = "\x00ignored"
		} else {
			col.attr = key
		}
		name := col.field
		if name == "" {
			name = col.attr
		}
		if prev, dup := have[name]; dup && name != "\x00ignored" {
			im.fail(RowError{Row: 1, Column: letter, Field: h, Reason: fmt.Sprintf("column %q repeats column %s", h, prev)})
		}
		have[name] = letter
		switch col.field {
		case FieldCode:
			im.codeCol = i
		case FieldName:
			nameCol = i
		}
		im.cols = append(im.cols, col)
	}
	if im.codeCol < 0 || nameCol < 0 {
		im.fail(RowError{Row: 1, Reason: "header needs columns code and name"})
	}
	return len(im.errs) == 0
}

func (im *importer) result() (*ImportResult, error) {
	if !im.header && len(im.errs) == 0 {
		im.fail(RowError{Reason: "empty file: no header row"})
	}
	if len(im.errs) > 0 {
		return nil, &ImportError{File: im.name, Errors: im.errs, Truncated: im.trunc}
	}
	res := &ImportResult{Rows: im.rows}
	if !im.opt.DryRun {
		SortItems(im.items)
		res.Items = im.items
	}
	return res, nil
}

// exportColumns returns the field columns and the sorted attribute keys of items.
func exportColumns(items []Item) []string {
	cols := Fields()
	keys := map[string]bool{}
	for i := range items {
		for k := range items[i].Attrs {
			keys[k] = true
		}
	}
	attrs := make([]string, 0, len(keys))
	for k := range keys {
		attrs = append(attrs, k)
	}
	slices.Sort(attrs)
	return append(cols, attrs...)
}

func rowText(it *Item, cols []string, dst []string) []string {
	dst = dst[:0]
	for i, c := range cols {
		if i < len(Fields()) {
			dst = append(dst, fieldText(it, c))
		} else {
			dst = append(dst, it.Attrs[c])
		}
	}
	return dst
}

// ExportCSV writes items as CSV with a header row: the fields, then one
// column per attribute key.
func ExportCSV(w io.Writer, items []Item) error {
	cw := csv.NewWriter(w)
	cols := exportColumns(items)
	if err := cw.Write(cols); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	rec := make([]string, 0, len(cols))
	for i := range items {
		rec = rowText(&items[i], cols, rec)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("export csv: row %d: %w", i+2, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	return nil
}

// ExportXLSX writes items as a one-sheet workbook named sheet ("" means
// "Sheet1") with the same columns as ExportCSV. Every cell is text, so
// codes keep their leading zeros.
func ExportXLSX(w io.Writer, sheet string, items []Item) error {
	x := excelize.NewFile()
	defer x.Close()
	if sheet != "" && sheet != "Sheet1" {
		if err := x.SetSheetName("Sheet1", sheet); err != nil {
			return fmt.Errorf("export xlsx: %w", err)
		}
	} else {
		sheet = "Sheet1"
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("export xlsx: %w", err)
	}
	cols := exportColumns(items)
	vals := make([]any, len(cols))
	setRow := func(n int, rec []string) error {
		for i := range rec {
			vals[i] = rec[i]
		}
		return sw.SetRow("A"+strconv.Itoa(n), vals)
	}
	if err := setRow(1, cols); err != nil {
		return fmt.Errorf("export xlsx: header: %w", err)
	}
	rec := make([]string, 0, len(cols))
	for i := range items {
		rec = rowText(&items[i], cols, rec)
		if err := setRow(i+2, rec); err != nil {
			return fmt.Errorf("export xlsx: row %d: %w", i+2, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("export xlsx: %w", err)
	}
	if err := x.Write(w); err != nil {
		return fmt.Errorf("export xlsx: %w", err)
	}
	return nil
}
