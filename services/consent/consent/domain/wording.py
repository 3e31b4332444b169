"""Plain-language names for categories and purposes: what the case manager reads to the participant."""

from __future__ import annotations

CATEGORY_WORDS = {
    "identity": "your name, date of birth and the ids agencies use for you",
    "referral": "how you were referred to LEAD (the referral and the offense it diverted)",
    "screening": "the answers from your first screening",
    "assessment": "whether and when you completed your intake assessment, and your status in the program",
    "substance_use": "information about alcohol or drug use and treatment",
    "mental_health": "information about your mental health",
    "plan": "your Individual Intervention Plan: your goals and the steps toward them",
    "contacts": "when and where you met your case manager",
    "legal_case": "your open court cases",
    "court_dates": "your upcoming court dates",
    "housing": "your housing situation",
    "benefits": "public benefits you receive or have applied for",
}

PURPOSE_WORDS = {
    "care_coordination": "to coordinate your care and services",
    "diversion_monitoring": "only to check that you entered the program, so the charge held for LEAD can be closed",
    "defense": "to defend you in court",
    "program_operations": "to run the LEAD program",
    "evaluation": "to evaluate LEAD, without your name",
    "BTG": "in an emergency",
}

GOLDEN_RULE = (
    "Information about alcohol or drug use is never shared with police or a prosecutor, and nothing you share "
    "through LEAD can be used to charge you, whatever this form says."
)

# The same purposes as short nouns, for saying what a recipient will never see for one of them.
PURPOSE_NAMES = {
    "care_coordination": "coordinating your care",
    "diversion_monitoring": "monitoring the charge held for LEAD",
    "defense": "your defense",
    "program_operations": "running the program",
    "evaluation": "evaluating LEAD",
    "BTG": "an emergency",
}

NEVER_IDENTIFIED_RULE = (
    "Evaluators only ever receive figures without anyone's name: {recipient} will never see your records, "
    "whatever this form says."
)
