package mailstats

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// Text writes the plain-text report.
func (d *Day) Text(w io.Writer, host string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Mail statistics for %s on %s\n\n", d.Date.Format("Monday 2006-01-02"), host)
	fmt.Fprintf(&b, "%-16s %8s\n", "category", "messages")
	for _, c := range Categories {
		fmt.Fprintf(&b, "%-16s %8d\n", c, d.Totals[c])
	}
	fmt.Fprintf(&b, "%-16s %8d\n\n", "total", d.Total())
	fmt.Fprintf(&b, "By hour (%s):\n", strings.Join(Categories, " / "))
	for h := 0; h < 24; h++ {
		var parts []string
		var n int64
		for _, c := range Categories {
			parts = append(parts, fmt.Sprint(d.Hourly[h][c]))
			n += d.Hourly[h][c]
		}
		if n > 0 {
			fmt.Fprintf(&b, "  %02d:00  %5d  %s\n", h, n, strings.Join(parts, " / "))
		}
	}
	section := func(title string, cs []Count) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, c := range cs {
			fmt.Fprintf(&b, "  %8d  %s\n", c.Count, c.Name)
		}
	}
	section("Recipients", d.Recipients)
	section("Viruses", d.Viruses)
	section("DNS list hits", d.Lists)
	section("Junk folders (messages now in each user's junk folder)", d.Junk)
	_, err := io.WriteString(w, b.String())
	return err
}

// colors per category for the chart.
var colors = map[string]string{
	"ham": "#4caf50", "outbound": "#2196f3", "spam-tagged": "#ffb300", "spam-rejected": "#e53935",
	"dnsbl": "#8e24aa", "virus": "#000000", "attachment": "#6d4c41", "spf": "#00897b", "dmarc": "#3949ab",
	"karma": "#f4511e", "greylisted": "#9e9e9e", "rejected-other": "#c2185b", "tempfail": "#bdbdbd",
}

type bar struct {
	X, Y, W, H int
	Color      string
	Title      string
}

type htmlData struct {
	Day        *Day
	Host       string
	Rows       []Count
	Total      int64
	Bars       []bar
	Legend     []Count
	Colors     map[string]string
	Hours      []int
	ChartW     int
	ChartH     int
	Max        int64
	Recipients []Count
	Viruses    []Count
	Lists      []Count
	Junk       []Count
}

// chart geometry
const (
	barW   = 24
	gap    = 6
	chartH = 240
	left   = 40
)

// HTML writes the report as one self-contained HTML page with an inline SVG
// chart of the day (stacked bars per hour and category). Every number of
// the tables is in an element with a data-count attribute, for tests.
func (d *Day) HTML(w io.Writer, host string) error {
	data := htmlData{Day: d, Host: host, Total: d.Total(), Colors: colors, ChartH: chartH,
		Recipients: d.Recipients, Viruses: d.Viruses, Lists: d.Lists, Junk: d.Junk}
	for _, c := range Categories {
		data.Rows = append(data.Rows, Count{c, d.Totals[c]})
	}
	var max int64 = 1
	for h := 0; h < 24; h++ {
		var n int64
		for _, c := range Categories {
			n += d.Hourly[h][c]
		}
		if n > max {
			max = n
		}
		data.Hours = append(data.Hours, h)
	}
	data.Max = max
	for h := 0; h < 24; h++ {
		y := chartH
		for _, c := range Categories {
			n := d.Hourly[h][c]
			if n == 0 {
				continue
			}
			hgt := int(float64(n) / float64(max) * float64(chartH-20))
			if hgt < 1 {
				hgt = 1
			}
			y -= hgt
			data.Bars = append(data.Bars, bar{X: left + h*(barW+gap), Y: y, W: barW, H: hgt, Color: colors[c],
				Title: fmt.Sprintf("%02d:00 %s: %d", h, c, n)})
		}
	}
	data.ChartW = left + 24*(barW+gap)
	return page.Execute(w, data)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"hx":   func(h int) int { return left + h*(barW+gap) + barW/2 },
	"twod": func(h int) string { return fmt.Sprintf("%02d", h) },
	"add":  func(a, b int) int { return a + b },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Mail statistics {{.Day.Date.Format "2006-01-02"}}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}
</style></head><body>
<h1>Mail statistics for {{.Day.Date.Format "Monday 2006-01-02"}}</h1>
<p>Server {{.Host}} &middot; <span id="total" data-count="{{.Total}}">{{.Total}}</span> messages</p>
<svg id="chart" width="{{.ChartW}}" height="{{add .ChartH 18}}" viewBox="0 0 {{.ChartW}} {{add .ChartH 18}}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="messages per hour">
<line x1="38" y1="0" x2="38" y2="{{.ChartH}}" stroke="#999"/>
<text x="0" y="14" font-size="11">{{.Max}}</text>
{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Color}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Hours}}<text x="{{hx .}}" y="{{add $.ChartH 14}}" font-size="10" text-anchor="middle">{{twod .}}</text>
{{end}}</svg>
<h2>By category</h2>
<table id="categories"><tr><th>category</th><th>messages</th></tr>
{{range .Rows}}<tr><td><span class="sw" style="background:{{index $.Colors .Name}}"></span>{{.Name}}</td><td class="n" data-category="{{.Name}}" data-count="{{.Count}}">{{.Count}}</td></tr>
{{end}}</table>
{{if .Recipients}}<h2>Recipients</h2><table id="recipients">
{{range .Recipients}}<tr><td>{{.Name}}</td><td class="n" data-count="{{.Count}}">{{.Count}}</td></tr>
{{end}}</table>{{end}}
{{if .Viruses}}<h2>Viruses</h2><table id="viruses">
{{range .Viruses}}<tr><td>{{.Name}}</td><td class="n" data-count="{{.Count}}">{{.Count}}</td></tr>
{{end}}</table>{{end}}
{{if .Lists}}<h2>DNS list hits</h2><table id="lists">
{{range .Lists}}<tr><td>{{.Name}}</td><td class="n" data-count="{{.Count}}">{{.Count}}</td></tr>
{{end}}</table>{{end}}
{{if .Junk}}<h2>Junk folders</h2><table id="junk">
{{range .Junk}}<tr><td>{{.Name}}</td><td class="n" data-count="{{.Count}}">{{.Count}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))
