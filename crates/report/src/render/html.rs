//! The report as one self-contained web page: the Markdown rendered to HTML (CommonMark with
//! tables, by `pulldown-cmark`), every figure the Markdown shows inline as SVG, the styles inline,
//! a table of contents, and a content security policy that forbids fetching anything — the page
//! reads the same offline, in a browser and on paper.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::collections::HashMap;
use std::fmt::Write;

/// Nothing may be fetched: no scripts, no connections, images only as inline data; only the
/// inline styles below apply.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = "\
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; line-height: 1.5; color: #1b1b1b;
  max-width: 62rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.8rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.8rem; }
nav.toc { background: #f6f6f6; border: 1px solid #ddd; padding: 0.5rem 1.2rem; }
nav.toc ul { margin: 0.2rem 0; padding-left: 1.2rem; } nav.toc li { margin: 0.1rem 0; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.88rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d0d0; padding: 0.25rem 0.5rem; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
code { background: #f3f3f3; padding: 0 0.2rem; }
svg { display: block; max-width: 100%; height: auto; margin: 1rem 0; }
.missing { color: #a00; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  nav.toc { break-after: page; }
  table, svg, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  table { display: table; }
}
";

/// The page for `markdown`. An image whose file name is one of `figures` (name, SVG) is replaced
/// by that SVG, inline; a link to one keeps only its text (the figure is on the page); an image
/// the page does not have is shown as its alt text, marked missing, never fetched.
pub fn page(markdown: &str, figures: &[(String, String)]) -> String {
    let figures: HashMap<&str, &str> = figures.iter().map(|(name, svg)| (name.as_str(), svg.as_str())).collect();
    let file_name = |url: &str| url.rsplit('/').next().unwrap_or(url).to_string();
    let events: Vec<Event> = Parser::new_ext(markdown, Options::ENABLE_TABLES).collect();

    // Headings: their text, and an id made from it (unique in the page).
    let mut headings: Vec<(HeadingLevel, String, String)> = Vec::new();
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut current: Option<(HeadingLevel, String)> = None;
    for event in &events {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((*level, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = current.take() {
                    let base = slug(&text);
                    let n = used.entry(base.clone()).or_insert(0);
                    *n += 1;
                    let id = if *n == 1 { base } else { format!("{base}-{n}") };
                    headings.push((level, text, id));
                }
            }
            _ => {}
        }
    }

    let mut out_events: Vec<Event> = Vec::with_capacity(events.len());
    let mut heading_ids = headings.iter().map(|(_, _, id)| id.clone());
    let mut skipping_image = false;
    let mut in_figure_link = false;
    for event in events {
        if skipping_image {
            skipping_image = !matches!(event, Event::End(TagEnd::Image));
            continue;
        }
        match event {
            Event::Start(Tag::Heading { level, classes, attrs, .. }) => {
                let id = heading_ids.next().map(CowStr::from);
                out_events.push(Event::Start(Tag::Heading { level, id, classes, attrs }));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                skipping_image = true;
                let html = match figures.get(file_name(&dest_url).as_str()) {
                    Some(svg) => svg.trim_end().to_string(),
                    None => format!(r#"<span class="missing">[figure not in this page: {}]</span>"#, escape(&dest_url)),
                };
                out_events.push(Event::InlineHtml(html.into()));
            }
            Event::Start(Tag::Link { ref dest_url, .. }) if figures.contains_key(file_name(dest_url).as_str()) => {
                in_figure_link = true;
            }
            Event::End(TagEnd::Link) if in_figure_link => in_figure_link = false,
            Event::Html(html) | Event::InlineHtml(html) => {
                // The report's Markdown holds no raw HTML; were some to appear, it is shown, not run.
                out_events.push(Event::Text(html));
            }
            other => out_events.push(other),
        }
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, out_events.into_iter());

    let title = headings.iter().find(|h| h.0 == HeadingLevel::H1).map_or("gradlab report", |h| h.1.as_str());
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
    page.push_str("<main>\n");
    // The table of contents goes under the title (first, when the page has none).
    let toc = toc(&headings);
    match body.find("</h1>\n") {
        Some(end) => {
            let end = end + "</h1>\n".len();
            page.push_str(&body[..end]);
            page.push_str(&toc);
            page.push_str(&body[end..]);
        }
        None => {
            page.push_str(&toc);
            page.push_str(&body);
        }
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

/// The table of contents: every level-2 heading, with its level-3 headings under it.
fn toc(headings: &[(HeadingLevel, String, String)]) -> String {
    let mut out = String::from("<nav class=\"toc\">\n<strong>Contents</strong>\n<ul>\n");
    let mut open_sub = false;
    let mut open_item = false;
    for (level, text, id) in headings {
        match level {
            HeadingLevel::H2 => {
                if open_sub {
                    out.push_str("</ul>");
                    open_sub = false;
                }
                if open_item {
                    out.push_str("</li>\n");
                }
                let _ = write!(out, "<li><a href=\"#{id}\">{}</a>", escape(text));
                open_item = true;
            }
            HeadingLevel::H3 if open_item => {
                if !open_sub {
                    out.push_str("\n<ul>\n");
                    open_sub = true;
                }
                let _ = writeln!(out, "<li><a href=\"#{id}\">{}</a></li>", escape(text));
            }
            _ => {}
        }
    }
    if open_sub {
        out.push_str("</ul>");
    }
    if open_item {
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n</nav>\n");
    out
}

/// A fragment id from heading text: lower-case letters and digits, other runs as one `-`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() { "section".to_string() } else { trimmed.to_string() }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"1\"/></svg>\n";

    #[test]
    fn figures_are_inline_and_nothing_is_fetched() {
        let md = "# R\n\n## 1. A\n\n![a plot](plots/a.svg)\n\n![gone](plots/b.svg)\n\n[see](plots/a.svg)\n";
        let html = page(md, &[("a.svg".to_string(), SVG.to_string())]);
        assert!(html.contains("<circle r=\"1\"/>"), "{html}");
        assert!(!html.contains("src="), "no element may load anything: {html}");
        assert!(!html.contains("href=\"plots/"), "{html}");
        assert!(html.contains("[figure not in this page: plots/b.svg]"), "{html}");
        assert!(html.contains("default-src 'none'"), "{html}");
    }

    #[test]
    fn headings_get_unique_ids_and_a_table_of_contents() {
        let md = "# T\n\n## 1. Decay per depth\n\n### sigmoid, shortcut none\n\n## 1. Decay per depth\n";
        let html = page(md, &[]);
        assert!(html.contains("<h2 id=\"1-decay-per-depth\">"), "{html}");
        assert!(html.contains("<h2 id=\"1-decay-per-depth-2\">"), "{html}");
        assert!(html.contains("<a href=\"#sigmoid-shortcut-none\">sigmoid, shortcut none</a>"), "{html}");
        assert!(html.contains("<title>T</title>"), "{html}");
    }

    #[test]
    fn tables_render_as_tables_and_raw_html_is_text() {
        let md = "| a | b |\n|---|---:|\n| 1 | <script>x</script> |\n";
        let html = page(md, &[]);
        assert!(html.contains("<table>") && html.contains("text-align: right"), "{html}");
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
    }
}
