"""Server-rendered HTML: Jinja2 templates (autoescaped) fed by one view model per screen."""
