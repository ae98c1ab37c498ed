"""Measuring detection quality: how well matching survives the ways images are altered.

- `edits`: the catalogue of alterations (compression, resizing, flips, borders, crops...);
- `robustness`: banks part of a folder of images, alters them, matches, and counts;
- `report`: the JSON, Markdown table and PNG chart of a run.

`safeguard eval robustness DIR` runs it; docs/evaluation.md holds the results.
"""
