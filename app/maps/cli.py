"""``flask map``: the city's boundaries (districts, streets, communities) drawn on every map."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.core.db import transaction

map_cli = AppGroup("map", help="Maps: load the city's boundaries (GeoJSON), show what is loaded, "
                                "rebuild the cockpit map's points.")


@map_cli.command("load-boundaries")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--code-property", default="code", show_default=True,
              help="the feature property holding the org unit's code")
@click.option("--dry-run", is_flag=True, help="check the file only; store nothing")
def load_boundaries_command(file: Path, code_property: str, dry_run: bool) -> None:
    """Load FILE, a GeoJSON FeatureCollection of Polygons/MultiPolygons in WGS84 (EPSG:4326)
    longitude/latitude with one feature per district, street or community, named by the unit's
    code. It replaces every boundary stored before (the demo's schematic ones too). Nothing is
    stored when any feature is wrong: each problem is listed with its feature."""
    from app.maps.geojson import BoundaryFileError
    from app.maps.operations import load_boundaries
    try:
        with transaction():
            result = load_boundaries(file.read_bytes(), file.name, code_property=code_property, actor=None,
                                     dry_run=dry_run)
    except BoundaryFileError as exc:
        for message in exc.errors:
            click.echo(f"  {file.name}: {message}", err=True)
        raise click.ClickException("no boundary was loaded") from None
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.by_kind.items()))
    if dry_run:
        click.echo(f"{file.name} is valid: {result.loaded} boundaries ({kinds}); nothing stored (--dry-run)")
    else:
        click.echo(f"loaded {result.loaded} boundaries ({kinds}) from {file.name}; "
                   f"{result.replaced} earlier ones replaced")


@map_cli.command("boundaries")
def boundaries_command() -> None:
    """Show which boundaries are loaded, from which file, and whether they are the demo's schematic ones."""
    from app.maps.queries import boundary_summary
    with transaction():
        summary = boundary_summary()
    if not summary:
        click.echo("no boundaries: maps show tiles only (TONGGUAN_MAP_TILE_URL) or a blank background")
        return
    for item in summary:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(item["kinds"].items()))
        note = "  SCHEMATIC (demo; not real geography)" if item["schematic"] else ""
        click.echo(f"{item['source']}: {kinds}; loaded {item['loaded_at']:%Y-%m-%d %H:%M} UTC{note}")


@map_cli.command("rebuild-points")
def rebuild_points_command() -> None:
    """Copy the place, arrival time and units of every case into cockpit_map_points again (the
    cockpit map's heat layer reads them). Every change made through Tongguan keeps them up to date
    by itself; run this after rows were written straight into the cases table (a bulk import)."""
    from app.maps.heat import rebuild_points
    with transaction():
        n = rebuild_points()
    click.echo(f"{n} cases with a place copied into cockpit_map_points")
