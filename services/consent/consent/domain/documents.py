"""Two renderings of a consent: the FHIR R4 Consent resource, and the plain-language preview."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from consent.domain.policy import NEVER_IDENTIFIED, PART2_CATEGORY, consent_would_permit
from consent.domain.wording import CATEGORY_WORDS, GOLDEN_RULE, NEVER_IDENTIFIED_RULE, PURPOSE_NAMES, PURPOSE_WORDS

AGENCY_SYSTEM = "urn:divert:agency"
CATEGORY_SYSTEM = "urn:divert:data-category"
PURPOSE_SYSTEM = "urn:divert:purpose"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# Divert purposes with an HL7 PurposeOfUse equivalent are coded with it as well.
HL7_PURPOSE = {"care_coordination": "COC", "program_operations": "HOPERAT", "evaluation": "HRESCH", "BTG": "BTG"}
FHIR_STATUS = {"draft": "draft", "active": "active", "revoked": "inactive", "expired": "inactive"}


def _when(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _period(start: Any, end: Any) -> dict[str, str]:
    return {k: v for k, v in (("start", _when(start)), ("end", _when(end))) if v is not None}


def _purposes(purposes: Sequence[str]) -> list[dict[str, str]]:
    codings = [{"system": PURPOSE_SYSTEM, "code": p} for p in purposes]
    codings += [{"system": V3_ACT_REASON, "code": HL7_PURPOSE[p]} for p in purposes if p in HL7_PURPOSE]
    return codings


def _provision(consent: Mapping[str, Any], grant: Mapping[str, Any]) -> dict[str, Any]:
    ends = grant.get("revoked_at") or consent.get("revoked_at") or consent.get("expired_at") or consent["expires_at"]
    return {
        "type": "permit",
        "period": _period(consent["effective_at"], ends),
        "actor": [
            {
                "role": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]
                },
                "reference": {"identifier": {"system": AGENCY_SYSTEM, "value": grant["recipient_agency"]}},
            }
        ],
        "action": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "disclose"}]}],
        "purpose": _purposes(grant["purposes"]),
        "class": [{"system": CATEGORY_SYSTEM, "code": c} for c in grant["categories"]],
    }


def fhir_consent(consent: Mapping[str, Any]) -> dict[str, Any]:
    """The consent as an HL7 FHIR R4 Consent: deny by default, one permit provision per recipient."""
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": consent["consent_id"],
        "status": FHIR_STATUS[consent["state"]],
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"identifier": {"system": "urn:divert:participant", "value": consent["participant_id"]}},
        "dateTime": _when(consent["created_at"]),
        "organization": [{"identifier": {"system": AGENCY_SYSTEM, "value": consent["disclosing_agency"]}}],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {
            "type": "deny",
            "period": _period(consent["effective_at"], consent["expires_at"]),
            "provision": [_provision(consent, g) for g in consent["grants"]],
        },
        "extension": [{"url": "urn:divert:fhir:wording-version", "valueString": consent["wording_version"]}],
    }
    if consent.get("signed_document_sha256"):
        resource["extension"].append(
            {"url": "urn:divert:fhir:signed-document-sha256", "valueString": consent["signed_document_sha256"]}
        )
    return resource


def preview(consent: Mapping[str, Any], agency_types: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per recipient, in plain words: what would be shared, why, for how long, and what never will be. Each
    category's statement is what the gate decides for that recipient's agency type (from the site's registry)
    once the consent is signed and in force."""
    return [_recipient(consent, grant, agency_types[grant["recipient_agency"]]) for grant in consent["grants"]]


def _recipient(consent: Mapping[str, Any], grant: Mapping[str, Any], agency_type: str) -> dict[str, Any]:
    recipient, purposes = grant["recipient_agency"], list(grant["purposes"])
    categories = [
        {
            "category": c,
            "shared_for": [p for p in purposes if consent_would_permit(agency_type, c, p)],
            "never_for": [p for p in purposes if not consent_would_permit(agency_type, c, p)],
        }
        for c in grant["categories"]
    ]
    shares = [c["category"] for c in categories if c["shared_for"]]
    never = [c["category"] for c in categories if not c["shared_for"]]
    lines = _what_is_shared(recipient, shares, categories)
    lines.append(f"This lasts from {_day(consent['effective_at'])} until {_day(consent['expires_at'])}.")
    if grant.get("irrevocable_until"):
        lines.append(
            f"You cannot take this part back before {_day(grant['irrevocable_until'])} (federal rule 42 CFR §2.35); "
            "everything else you can take back at any time."
        )
    else:
        lines.append("You can take this back at any time; it stops the next time anyone asks.")
    lines += _what_never_is(recipient, agency_type, never, categories)
    return {
        "recipient_agency": recipient,
        "recipient_agency_type": agency_type,
        "shares": shares,
        "never_shared": never,
        "purposes": purposes,
        "categories": categories,
        "text": " ".join(lines),
    }


def _what_is_shared(recipient: str, shares: list[str], categories: list[dict[str, Any]]) -> list[str]:
    if not shares:
        return [f"{recipient} will not see anything about you under this consent."]
    used_for = sorted({p for c in categories for p in c["shared_for"]}, key=list(PURPOSE_WORDS).index)
    lines = [
        f"{recipient} will be able to see " + "; ".join(CATEGORY_WORDS[c] for c in shares) + ".",
        "They may use it " + " and ".join(PURPOSE_WORDS[p] for p in used_for) + ".",
    ]
    for c in categories:
        if c["shared_for"] and c["never_for"]:
            lines.append(
                f"They will never see {CATEGORY_WORDS[c['category']]} for "
                + " or ".join(PURPOSE_NAMES[p] for p in c["never_for"])
                + "."
            )
    return lines


def _what_never_is(recipient: str, agency_type: str, never: list[str], categories: list[dict[str, Any]]) -> list[str]:
    if agency_type in NEVER_IDENTIFIED:
        return [NEVER_IDENTIFIED_RULE.format(recipient=recipient)]
    lines = []
    if never:
        lines.append(
            f"{recipient} will never see " + "; ".join(CATEGORY_WORDS[c] for c in never) + ", whatever this form says."
        )
    if any(c["category"] == PART2_CATEGORY and c["never_for"] for c in categories):
        lines.append(GOLDEN_RULE)
    return lines


def _day(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"
