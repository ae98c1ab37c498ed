"""`safeguard index ...`: what the indexes need before a server starts (the word index's
vocabulary, built once per machine)."""

from __future__ import annotations

import time

import typer

from safeguard.cli.output import out_console, print_json

app = typer.Typer(help="Index housekeeping.", no_args_is_help=True)


@app.command("vocabulary")
def vocabulary(json_output: bool = typer.Option(False, "--json")) -> None:
    """Build the local-features vocabulary of the word index now (at SAFEGUARD_VOCABULARY, or
    in the user's cache folder), so that no server builds it on its first large bank; a
    vocabulary already there is only checked. A few minutes, once per machine."""
    from safeguard.index.vocabulary import Vocabulary, default_path

    path = default_path()
    existed = path.exists()
    start = time.perf_counter()
    vocab = Vocabulary.load_or_build(path)
    data = {
        "path": str(path),
        "built": not existed,
        "words": vocab.size,
        "digest": vocab.digest,
        "seconds": round(time.perf_counter() - start, 1),
    }
    if json_output:
        print_json(data)
    elif existed:
        out_console.print(f"vocabulary present: {path} ({vocab.size:,} words)", highlight=False)
    else:
        out_console.print(
            f"vocabulary built: {path} ({vocab.size:,} words, {data['seconds']} s)",
            highlight=False,
        )
