//! Pure rendering: report data in, text out (Markdown, JSON, SVG). No arithmetic, no I/O.
