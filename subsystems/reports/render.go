package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// Table is the report as rows of cells, the same in HTML, CSV and XLSX:
// a section title row has one cell, an item row a label and a value.
func (r *Report) Table() [][]string {
	bp := func(v int64) string { return fmt.Sprintf("%d.%02d%%", v/100, v%100) }
	t := [][]string{
		{"定点医疗机构医保月度报告"},
		{"机构编码", r.Fixmedins}, {"报告月份", r.Period}, {"生成时间", r.Generated},
		{"一、基金收支"},
		{"记账笔数", strconv.Itoa(r.Postings)},
	}
	for _, f := range r.Funds {
		t = append(t, []string{"基金支付 " + f.FundPayType, f.Amount.String()})
	}
	t = append(t,
		[]string{"基金支付合计", r.FundTotal.String()},
		[]string{"个人账户支付", r.AcctPay.String()},
		[]string{"应付机构金额", r.Payable.String()},
		[]string{"二、预算执行"},
		[]string{"月度预算", r.Budget.String()},
		[]string{"预算执行率", bp(r.BudgetExecBP)},
		[]string{"三、DRG/DIP 支付结果"},
	)
	if len(r.Payment) == 0 {
		t = append(t, []string{"本月无结算结果"})
	}
	for _, m := range r.Payment {
		t = append(t,
			[]string{m.Method + " 病例数", strconv.FormatInt(m.Cases, 10)},
			[]string{m.Method + " 医疗总费用", m.Medfee.String()},
			[]string{m.Method + " 按项目基金支付", m.FundItem.String()},
			[]string{m.Method + " 按病组/病种基金支付", m.FundPay.String()},
			[]string{m.Method + " 差额", m.Diff.String()},
		)
	}
	t = append(t,
		[]string{"四、清算进度"},
		[]string{"已清算拨付", r.Cleared.String()},
		[]string{"待清算", r.Outstanding.String()},
		[]string{"清算进度", bp(r.ClearingBP)},
	)
	return t
}

// WriteCSV writes the table as CSV (UTF-8 with a byte-order mark, so
// spreadsheet programs read the Chinese labels).
func (r *Report) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(r.Table()); err != nil {
		return fmt.Errorf("reports: csv: %w", err)
	}
	return nil
}

// XLSX returns the table as an Excel workbook of one sheet.
func (r *Report) XLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "月报"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("reports: xlsx: %w", err)
	}
	for i, row := range r.Table() {
		for j, v := range row {
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return nil, fmt.Errorf("reports: xlsx: %w", err)
			}
			if err := f.SetCellStr(sheet, cell, v); err != nil {
				return nil, fmt.Errorf("reports: xlsx: %w", err)
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, fmt.Errorf("reports: xlsx: %w", err)
	}
	return b.Bytes(), nil
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.R.Fixmedins}} {{.R.Period}} 医保月度报告</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td{border:1px solid #ccc;padding:.3em .8em}td.v{text-align:right}th{text-align:left;padding-top:1em}</style></head>
<body><table>{{range .T}}{{if eq (len .) 1}}<tr><th colspan="2">{{index . 0}}</th></tr>{{else}}<tr><td>{{index . 0}}</td><td class="v">{{index . 1}}</td></tr>{{end}}{{end}}</table>
<p><a href="?format=csv">CSV</a> · <a href="?format=xlsx">XLSX</a> · <a href="?format=json">JSON</a></p></body></html>
`))

// WriteHTML writes the report as an HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	return page.Execute(w, struct {
		R *Report
		T [][]string
	}{r, r.Table()})
}
