"""The consent service's answer to one question at the moment of intake: is a signed ROI on file that names the
provider holding the participant? Asked as the caller; no answer is never taken as a yes."""

from __future__ import annotations

from typing import Any

import httpx

from casemgmt.domain.enrolment import RoiOnFile
from divert_kernel import telemetry
from divert_kernel.auth import Principal
from divert_kernel.errors import Unavailable

PATH = "/v1/consents/roi-on-file"


def _answer(body: Any) -> RoiOnFile:
    if not isinstance(body, dict):
        raise ValueError("not an object")
    on_file, holder_known, consent_id = body.get("on_file"), body.get("holder_known"), body.get("consent_id")
    if not isinstance(on_file, bool) or not isinstance(holder_known, bool):
        raise ValueError("on_file and holder_known are booleans")
    if consent_id is not None and not isinstance(consent_id, str):
        raise ValueError("consent_id is a string or null")
    return RoiOnFile(on_file=on_file, consent_id=consent_id, holder_known=holder_known)


async def roi_on_file(
    consent_url: str, principal: Principal, participant_id: str, jurisdiction: str, *, timeout: float = 1.5
) -> RoiOnFile:
    """The answer, or Unavailable: intake is then not recorded."""
    headers = telemetry.inject_headers({"authorization": f"Bearer {principal.token}"})
    if principal.person:
        headers["divert-acting-person"] = principal.person
    body = {"participant_id": participant_id, "jurisdiction": jurisdiction}
    try:
        async with httpx.AsyncClient(base_url=consent_url, timeout=timeout) as client:
            reply = await client.post(PATH, json=body, headers=headers)
        if reply.status_code == 200:
            return _answer(reply.json())
    except (httpx.HTTPError, ValueError):
        pass
    raise Unavailable("the consent service did not say whether an ROI is on file; intake is not recorded")
