"""The site directory: each jurisdiction's agencies and its data-sharing terms (the MOU), as versioned settings.

A site's settings are deployment configuration (a file, or a ConfigMap beyond one machine), approved by the
Policy Coordinating Group: every version names its approval reference. Services read who the agencies are
(which office holds charges, which providers may receive a hand-off); the consent service records each MOU
version it is given and decides with the terms of the newest.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, model_validator

log = logging.getLogger("divert.sites")

# Only the participant's own ROI can open these; no site grant ever does (DESIGN §5).
ROI_ONLY_CATEGORIES = frozenset({"substance_use", "mental_health"})

_Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{1,62}$")]
Relation = Literal["handoff_provider", "charge_holder"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    agency_id: _Id
    agency_type: Literal[
        "police", "case_management", "prosecutor", "defender", "project_manager", "community", "evaluator", "auditor"
    ]
    name: str = ""


class MouTerm(_Strict):
    """One data-sharing term: bound to a relation to the participant, or to named agencies; never to a type."""

    relation: Relation | None = None
    agencies: tuple[_Id, ...] = ()
    categories: tuple[str, ...] = Field(min_length=1)
    purposes: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _bound_and_limited(self) -> MouTerm:
        if (self.relation is None) == (not self.agencies):
            raise ValueError("a term names exactly one of: a relation, or agencies")
        if ROI_ONLY_CATEGORIES & set(self.categories):
            raise ValueError("a site grant never covers substance_use or mental_health")
        return self


class Site(_Strict):
    jurisdiction: _Id
    version: int = Field(ge=1)
    approved_by: str = Field(min_length=1, max_length=200, description="the Policy Coordinating Group's reference")
    time_zone: str = "America/Los_Angeles"
    intake_extension_max_days: int = Field(30, ge=1, le=365)
    intake_extensions_total_max_days: int = Field(90, ge=1, le=730)
    agencies: tuple[Agency, ...]
    mou: tuple[MouTerm, ...] = ()

    @model_validator(mode="after")
    def _terms_name_site_agencies(self) -> Site:
        known = {a.agency_id for a in self.agencies}
        for term in self.mou:
            unknown = set(term.agencies) - known
            if unknown:
                raise ValueError(f"the MOU names agencies not in the site: {sorted(unknown)}")
        return self

    def of_type(self, agency_type: str) -> list[str]:
        return [a.agency_id for a in self.agencies if a.agency_type == agency_type]

    @property
    def prosecutor_office(self) -> str | None:
        """The office that holds diverted charges (the site's one prosecutor agency)."""
        offices = self.of_type("prosecutor")
        return offices[0] if offices else None


class Sites(_Strict):
    sites: tuple[Site, ...] = ()

    def get(self, jurisdiction: str) -> Site | None:
        return next((s for s in self.sites if s.jurisdiction == jurisdiction), None)

    def refresh(self) -> bool:
        """Re-read the directory's file if it changed (see WatchedSites); a directory of no file never changes."""
        return False


class WatchedSites(Sites):
    """The directory of a file, read again on the first lookup after the file changed (`divert clients add`
    adds an agency while every service runs). One stat per lookup, no interval: once the writer has replaced the
    file, the very next request anywhere sees the change. A file that no longer parses or validates is logged
    and ignored: the last good directory stays in force (a half-edited file never empties a site)."""

    _path: Path = PrivateAttr()
    _stamp: tuple[int, int, int] | None = PrivateAttr(default=None)

    def get(self, jurisdiction: str) -> Site | None:
        self.refresh()
        return super().get(jurisdiction)

    def refresh(self) -> bool:
        """Re-read the file if it changed since the last read; True when the directory changed."""
        try:
            stat = os.stat(self._path)
        except OSError:
            return False  # gone for a moment (replaced, or a ConfigMap swapping): keep what we have
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            fresh = Sites.model_validate(json.loads(self._path.read_text()))
        except (OSError, ValueError) as exc:  # pydantic's ValidationError and JSON errors are ValueErrors
            log.warning(
                "site directory %s not reloaded (%s); keeping the last good one", self._path, type(exc).__name__
            )
            return False
        changed = fresh.sites != self.sites
        self.__dict__["sites"] = fresh.sites  # frozen to callers; only the file changes it
        return changed


def load_sites(path: str | None) -> Sites:
    """The directory from a JSON file, kept current with it; none configured means no site is known (every lookup
    answers None). A file that does not parse or validate at start-up is an error, as it always was."""
    if not path:
        return Sites()
    file = Path(path)
    stamp = os.stat(file)
    watched = WatchedSites.model_validate(json.loads(file.read_text()))
    watched._path = file
    watched._stamp = (stamp.st_mtime_ns, stamp.st_size, stamp.st_ino)
    return watched
