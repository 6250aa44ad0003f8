"""Generate the two example lease PDFs of the bundled Harborview knowledge base.

Usage (from the repository root):
    .venv/bin/python knowledge/make_leases.py

Writes:
    knowledge/properties/oak-street/leases/oak_street_lease.pdf
    knowledge/properties/pine-avenue/leases/pine_avenue_lease.pdf

The text is kept here (written for the project; Harborview Property Management is fictional).
Output is deterministic: creation date, producer and file identifier are fixed, so re-running
with the same fpdf2 version gives byte-identical files. Needs fpdf2 (the `dev` extra);
only the core Helvetica font is used, so all text must be Latin-1 (plain ASCII here).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

try:
    from fpdf import FPDF
except ImportError:  # pragma: no cover - script guard
    sys.exit("fpdf2 is needed: pip install fpdf2 (it is in ragbot's `dev` extra)")

HERE = Path(__file__).resolve().parent
FIXED_DATE = datetime(2026, 11, 1, 9, 0, 0, tzinfo=timezone.utc)

COMPANY = {
    "name": "Harborview Property Management LLC",
    "office": "88 Harbor Street, Suite 200, Port Haven, WA 98001",
    "phone": "555-0100",
    "email": "office@harborview.example",
    "portal": "portal.harborview.example",
    "emergency": "555-0199",
}

OAK = {
    "slug": "oak-street",
    "file": "oak_street_lease.pdf",
    "name": "Oak Street Apartments",
    "address": "12 Oak Street, Port Haven, WA 98002",
    "building": "a three-story walk-up building of 24 homes with no elevator",
    "shared": "the basement laundry room, the basement bike room and the mailroom parcel lockers",
    "term": (
        "The Lease term is either twelve (12) months or six (6) months, as marked in the Lease "
        "Summary. Rent for a six-month term is $100 per month higher than the twelve-month rate "
        "for the same home. When the term ends, the Lease continues month to month at the same "
        "rent until a renewal is signed or either party ends it with notice under Clause 9."
    ),
    "rent_summary": "Due on the 1st of each month; late fee $50 after the 5th",
    "late": (
        "If rent is not received in full by 11:59 p.m. on the 5th day of the month, a late fee "
        "of $50 is charged once for that month. Rent received on the 1st through the 5th is not late."
    ),
    "deposit_summary": "One month's rent (example: $1,450 for a one-bedroom at $1,450 per month)",
    "deposit": (
        "Resident pays a security deposit equal to one month's rent before keys are released "
        "(for example, $1,450 for a one-bedroom home renting at $1,450 per month). The deposit "
        "is not a limit on Resident's liability and may not be used as the last month's rent."
    ),
    "utilities": (
        "Landlord pays for heat (central boiler and radiators), water, sewer and trash "
        "collection. Resident pays for electricity, with an account opened in Resident's name "
        "with Port Haven Electric (555-0160) starting on the first day of the Lease, and for "
        "any internet, telephone or television service Resident chooses."
    ),
    "pets": (
        "Cats only. Resident may keep up to two (2) cats, which must be spayed or neutered, kept "
        "indoors, and registered in the resident portal before they arrive. Pet rent is $35 per "
        "month for each cat, due with the rent. There is no separate pet deposit. Dogs are not "
        "permitted, and no other animals may be kept, even temporarily, except fish in a tank "
        "of 10 gallons or less."
    ),
    "notice_days": "thirty (30) days",
    "maintenance": (
        "Non-emergency requests are made in the resident portal (Maintenance > New Request) or "
        "with the on-site superintendent, Luis Ortega, Unit 1A, available Monday through Friday "
        "from 8 a.m. to 4 p.m. at 555-0120. Window air-conditioning units are allowed from "
        "May 1 to September 30 only with a Landlord-approved support bracket, installed after "
        "a portal request."
    ),
    "quiet": "10 p.m. to 7 a.m. every day",
    "parking": (
        "Parking is not included in the rent. Assigned spaces in the rear lot are available "
        "for $40 per month under a separate Parking Addendum, from a waitlist kept by the "
        "office. There is no guest parking on site. Vehicles in unassigned spaces or the fire "
        "lane are towed at the owner's expense. Street parking is in City of Port Haven "
        "Residential Permit Zone R3; permits are issued by the city, not by Landlord."
    ),
    "laundry_trash": (
        "Laundry: the shared basement laundry room is open 7 a.m. to 10 p.m. and takes the "
        "Harborview laundry card or app ($2.00 per wash, $1.75 per dry). Washers and dryers "
        "may not be installed in the home. Trash and recycling are collected every Tuesday "
        "morning; bagged trash and recycling go in the enclosure in the rear lot. Bulky items "
        "(furniture, mattresses) are collected only by a pickup scheduled in the portal, "
        "$40 per item."
    ),
}

PINE = {
    "slug": "pine-avenue",
    "file": "pine_avenue_lease.pdf",
    "name": "Pine Avenue Lofts",
    "address": "40 Pine Avenue, Port Haven, WA 98004",
    "building": ("a five-story former cannery building of 48 loft homes with an elevator and a "
                 "front desk staffed from 7 a.m. to 11 p.m. daily"),
    "shared": "the roof deck (6 a.m. to 10 p.m.), the fitness room (5 a.m. to 11 p.m.), the bike room and the package lockers",
    "term": (
        "The Lease term is either twelve (12) months or eighteen (18) months, as marked in the "
        "Lease Summary; shorter terms are not offered. When the term ends, the Lease continues "
        "month to month at the then-current rent plus $150 per month until a renewal is signed "
        "or either party ends it with notice under Clause 9."
    ),
    "rent_summary": "Due on the 1st of each month; late fee $75 after the 3rd",
    "late": (
        "If rent is not received in full by 11:59 p.m. on the 3rd day of the month, a late fee "
        "of $75 is charged once for that month. Rent received on the 1st through the 3rd is not late."
    ),
    "deposit_summary": "$2,000 (the same for every home, regardless of size)",
    "deposit": (
        "Resident pays a security deposit of $2,000 before keys are released. The deposit is "
        "the same flat amount for every home at Pine Avenue Lofts, regardless of size, and is "
        "separate from any pet deposit under Clause 8. The deposit is not a limit on "
        "Resident's liability and may not be used as the last month's rent."
    ),
    "utilities": (
        "Landlord pays for water, sewer, trash collection and the building high-speed internet "
        "(Wi-Fi) service. Resident pays for electricity, which powers the heat pump used for "
        "heating and cooling, with an account opened in Resident's name with Port Haven "
        "Electric (555-0160) starting on the first day of the Lease."
    ),
    "pets": (
        "Cats and dogs are permitted. Dogs must weigh under 40 pounds at full adult weight. "
        "Resident may keep no more than two (2) pets in total (cats, dogs or one of each). "
        "Resident pays a refundable pet deposit of $500 per household before a pet moves in; "
        "there is no monthly pet rent. Pets must be registered in the resident portal, dogs "
        "must be leashed in all common areas, and Resident must pick up after them. The pet "
        "wash station is on the ground floor."
    ),
    "notice_days": "sixty (60) days",
    "maintenance": (
        "Non-emergency requests are made in the resident portal (Maintenance > New Request); "
        "the front desk in the lobby (555-0140, staffed 7 a.m. to 11 p.m. daily) can also log "
        "a request for Resident. Landlord maintains the in-home washer and dryer; Resident "
        "cleans the dryer lint screen after each use."
    ),
    "quiet": "11 p.m. to 8 a.m. every day (the roof deck closes at 10 p.m.)",
    "parking": (
        "Parking is not included in the rent. Spaces in the underground garage are available "
        "for $125 per month each, and spaces with an electric-vehicle charger for $150 per "
        "month, under a separate Parking Addendum. Guests may use the six visitor spaces in "
        "the front lot for up to 24 hours with a pass from the front desk."
    ),
    "laundry_trash": (
        "Laundry: every home has its own washer and dryer. Trash: bagged household trash goes "
        "down the chute on each floor; recycling and compost go to the recycling room on the "
        "ground floor; boxes must be broken down and never put in the chute. Trash and "
        "recycling are collected every Monday and Thursday."
    ),
}


def clauses(p: dict) -> list[tuple[str, str]]:
    """Numbered clauses (title, body) for one property; shared terms use COMPANY facts."""
    c = COMPANY
    return [
        ("PARTIES", (
            f"This Residential Lease Agreement (the \"Lease\") is made between {c['name']}, as "
            f"managing agent for the owner of {p['name']} (\"Landlord\"), office at {c['office']}, "
            f"telephone {c['phone']}, email {c['email']}, and the resident(s) named in the Lease "
            "Summary (\"Resident\"). Each adult Resident is jointly and severally responsible "
            "for all obligations under this Lease.")),
        ("PREMISES", (
            f"Landlord rents to Resident the home identified in the Lease Summary at {p['name']}, "
            f"{p['address']}, {p['building']}. Resident may use {p['shared']}, subject to "
            "posted rules. Only the persons named in the Lease Summary may live in the home.")),
        ("TERM", p["term"]),
        ("RENT AND DUE DATE", (
            "Monthly rent is the amount in the Lease Summary and is due in advance on the 1st "
            f"day of each month. Rent may be paid in the resident portal ({c['portal']}) by bank "
            "transfer (ACH, no fee) or debit or credit card (2.95% processing fee), or by check "
            "or money order payable to Harborview Property Management. Cash is not accepted. "
            "Rent for a partial first month is prorated by the day.")),
        ("LATE FEE AND RETURNED PAYMENTS", (
            p["late"] + " A returned or declined payment costs $30; after two returned payments "
            "in twelve months, Landlord may require certified funds.")),
        ("SECURITY DEPOSIT", (
            p["deposit"] + " The deposit is held in a separate trust account. Within 21 days "
            "after the tenancy ends and all keys are returned, Landlord will return the deposit "
            "with an itemized statement of any deductions for unpaid rent or charges, cleaning "
            "needed to return the home to move-in condition, and damage beyond normal wear and "
            "tear. Resident should give a forwarding address in writing.")),
        ("UTILITIES", p["utilities"]),
        ("PETS AND ANIMALS", (
            p["pets"] + " Assistance animals, including service animals, are not pets: they "
            "are allowed under fair housing law as a reasonable accommodation, and no pet rent, "
            "pet deposit or size limit applies to them. Requests go to the Harborview office.")),
        ("NOTICE TO TERMINATE", (
            f"Resident must give Landlord at least {p['notice_days']} written notice before "
            "moving out, to end the Lease on the last day of the term or, when the Lease is "
            "month to month, at the end of a monthly rental period. Written notice means the "
            "Notice to Vacate form in the resident portal or a signed letter delivered to the "
            "Harborview office; verbal notice is not accepted. Ending the Lease before the end "
            "of the term needs Landlord's written agreement, and Resident remains responsible "
            "for rent until the home is re-rented or the term ends, whichever comes first.")),
        ("MAINTENANCE AND REPAIRS", (
            "Resident keeps the home clean and reports problems promptly. " + p["maintenance"] +
            f" Emergencies - fire, smell of gas, flooding or an active water leak, no heat, "
            "sewage backup, loss of all electricity, or a door or window lock that will not "
            f"secure the home - must be reported at any hour to the emergency line, {c['emergency']}, "
            "after calling 911 where there is danger to people. Landlord's target response "
            "times are: emergencies within 1 hour, urgent repairs (no hot water, a refrigerator "
            "not cooling, the only toilet not working) within 24 hours, and routine repairs "
            "within 3 business days. Resident pays for damage caused by Resident, occupants, "
            "guests or pets. Resident may not make alterations, paint or change locks without "
            "Landlord's written consent.")),
        ("ENTRY BY LANDLORD", (
            "Landlord may enter the home to make repairs, inspect, or show it to prospective "
            "residents or buyers after giving at least 24 hours' written notice (a portal "
            "message, email or notice posted on the door). Entry will be between 8 a.m. and "
            "7 p.m., Monday through Saturday. Showings to prospective residents happen only in "
            "the last 30 days of the tenancy. Landlord may enter without notice only in an "
            "emergency or when the home appears abandoned.")),
        ("QUIET HOURS AND CONDUCT", (
            f"Quiet hours at {p['name']} are {p['quiet']}. Residents and guests must not "
            "disturb neighbors at any time. Moving in or out is allowed only between 8 a.m. and "
            "8 p.m. Guests may stay no more than 14 consecutive nights, and no more than 30 "
            "nights in any 12-month period, without Landlord's written approval.")),
        ("PARKING", p["parking"]),
        ("LAUNDRY AND TRASH", p["laundry_trash"]),
        ("SUBLETTING AND ASSIGNMENT", (
            "Resident may not sublet the home or assign this Lease without Landlord's prior "
            "written consent. A proposed subtenant must apply and be approved like any "
            "applicant ($45 application fee), and Resident remains responsible under this "
            "Lease. Short-term rentals of less than 30 days (for example through Airbnb or "
            "VRBO) are prohibited.")),
        ("SMOKING", (
            f"{p['name']} is smoke-free. Smoking or vaping of tobacco, cannabis or any other "
            "substance is not allowed in the home, on balconies or patios, in common areas, or "
            "within 25 feet of building entrances. Resident pays the cost of cleaning and "
            "repairing smoke damage, and repeated violations are a breach of this Lease.")),
        ("RENTERS INSURANCE", (
            "Resident must keep renters insurance for the whole tenancy with at least $100,000 "
            "of personal liability coverage, naming Harborview Property Management as an "
            "additional interested party, and upload proof in the resident portal before keys "
            "are released. Landlord's insurance does not cover Resident's belongings.")),
        ("ENTIRE AGREEMENT AND SIGNATURES", (
            "This Lease, its Lease Summary and any signed addenda (Parking, Pet) are the entire "
            "agreement. Changes must be in writing and signed by both parties. By signing, "
            "Resident confirms having read every clause.")),
    ]


class LeasePDF(FPDF):
    """fpdf2 document with a running header, page-numbered footer and a fixed file id."""

    def __init__(self, title: str) -> None:
        super().__init__(format="Letter")
        self.lease_title = title

    def header(self) -> None:
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 5, f"{self.lease_title} - Harborview Property Management",
                  new_x="LMARGIN", new_y="NEXT", align="R")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 8, f"Page {self.page_no()} of {{nb}}    Resident initials: ______",
                  align="C")

    def file_id(self) -> str:  # fixed identifier keeps the output byte-identical
        return "<" + "48415242" * 4 + "><" + "48415242" * 4 + ">"


def build(p: dict, out: Path) -> None:
    """Render one property's lease to `out` (PDF, Letter size, 2-4 pages)."""
    title = f"{p['name']} Residential Lease Agreement"
    pdf = LeasePDF(title)
    pdf.set_title(title)
    pdf.set_author("Harborview Property Management")
    pdf.set_subject(f"Standard residential lease for {p['name']}, {p['address']}")
    pdf.set_creator("knowledge/make_leases.py")
    pdf.set_producer("fpdf2")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 15, 20)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, f"{p['address']}  |  Managed by {COMPANY['name']}  |  "
                   f"Office {COMPANY['phone']}  |  24-hour emergency line {COMPANY['emergency']}",
                   align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "LEASE SUMMARY", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    summary = [
        ("Resident(s)", "______________________________________________"),
        ("Home", f"Unit ______ at {p['name']}, {p['address']}"),
        ("Lease start / term", "______________  /  ______ months"),
        ("Monthly rent", "$__________  " + p["rent_summary"]),
        ("Security deposit", p["deposit_summary"]),
    ]
    for label, value in summary:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(42, 6, label + ":")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    for number, (name, body) in enumerate(clauses(p), start=1):
        if pdf.get_y() > pdf.h - 45:  # keep a clause title with its first lines
            pdf.add_page()
        pdf.set_font("Helvetica", "B", 10.5)
        pdf.multi_cell(0, 6, f"{number}. {name}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, body, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    pdf.ln(6)
    for who in ("Resident", "Resident", "Landlord (Harborview Property Management, agent)"):
        pdf.cell(0, 8, f"{who}: ________________________________   Date: ____________",
                 new_x="LMARGIN", new_y="NEXT")
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))


def main() -> None:
    for p in (OAK, PINE):
        out = HERE / "properties" / p["slug"] / "leases" / p["file"]
        build(p, out)
        print(f"wrote {out.relative_to(HERE.parent)} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
