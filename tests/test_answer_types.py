"""Expected answer types of tenant questions (ragbot.chat.answer_types), and typed value extraction.

The phrasing table was written by hand: leases, listings, FAQs and maintenance, in the wordings
tenants use (informal, context first, embedded, compound), labelled with the kind of answer that
would answer them; the ambiguous cases follow the decisions in the module docstring."""

from __future__ import annotations

import pytest

from ragbot.chat.answer_types import KINDS, AnswerType, classify_question, values_of_type
from ragbot.errors import InputError

PHRASINGS: list[tuple[str, str]] = [
    # --- amount (money, percentages, "one month's rent") ---
    ("How much is the deposit?", "amount"),
    ("How much is the security deposit at Oak Street?", "amount"),
    ("What is the late fee?", "amount"),
    ("what's the late fee if I pay on the 7th", "amount"),
    ("How much does parking cost?", "amount"),
    ("What does a garage space cost per month?", "amount"),
    ("How much is pet rent for a cat?", "amount"),
    ("What is the pet deposit at Pine Avenue Lofts?", "amount"),
    ("What's the rent for unit 2B?", "amount"),
    ("What is the monthly rent for the Barbados embassy residence during the first three years?", "amount"),
    ("What is the security deposit under the Emeryville office lease?", "amount"),
    ("In the one-page sample apartment lease, what late fee is charged?", "amount"),
    ("What is the penalty for early termination in the sample apartment lease?", "amount"),
    ("What rent applies if the tenant holds over after the Emeryville office lease ends?", "amount"),
    ("What interest can the landlord pay on the deposit under the Ontario tenancy agreement?", "amount"),
    ("How big a deposit can the landlord collect?", "amount"),
    ("What is the nightly price of the Short North - Italianate Cottage listing?", "amount"),
    ("how much do you charge for a lost key", "amount"),
    ("How much is a replacement fob?", "amount"),
    ("What's the application fee?", "amount"),
    ("How much does it cost to get locked out after hours?", "amount"),
    ("What is the fee for paying by credit card?", "amount"),
    ("What's the processing fee on card payments?", "amount"),
    ("How expensive is the EV charger spot?", "amount"),
    ("What do I pay for a returned check?", "amount"),
    ("Can you tell me how much the deposit is?", "amount"),
    ("Do you know how much a bulky item pickup costs?", "amount"),
    ("I'd like to know the price of the one-bedroom", "amount"),
    ("What is the cleaning fee for the cottage?", "amount"),
    ("How much are the washers in the laundry room?", "amount"),
    ("What would the rent be on a six-month lease?", "amount"),
    ("For Pine Avenue, how much is the garage?", "amount"),
    ("What is the minimum renters insurance liability coverage?", "amount"),
    ("What's the monthly charge for a parking space at Oak Street?", "amount"),
    ("How much is the rekey fee?", "amount"),
    ("What is the price per night?", "amount"),
    ("late fee?", "amount"),
    ("security deposit amount", "amount"),
    ("What is the maximum the tenant pays for minor repairs in the Barbados lease?", "amount"),
    ("How much money do I need to move in?", "amount"),
    ("What is the holdover rent percentage?", "amount"),
    ("How much will my rent go up at month to month?", "amount"),
    ("How much is the extra people fee?", "amount"),
    ("What does it cost to park in the rear lot?", "amount"),
    ("Tell me the late fee amount please", "amount"),
    # --- duration (how long, notice periods, response times) ---
    ("How much notice do I need to give before moving out?", "duration"),
    ("How much notice does the landlord have to give before entering?", "duration"),
    ("How long is the lease?", "duration"),
    ("How long can a guest stay?", "duration"),
    ("How many days notice do I need to give?", "duration"),
    ("Under the Ontario residential tenancy agreement, how much written notice must a tenant give to end the tenancy?", "duration"),
    ("How long is the term of the Barbados embassy residence lease?", "duration"),
    ("Within how many hours must the landlord of the Barbados residence complete emergency repairs?", "duration"),
    ("How quickly will maintenance respond?", "duration"),
    ("how soon will someone fix my toilet", "duration"),
    ("How long do I have to pay rent before it's late?", "duration"),
    ("What is the notice period to move out?", "duration"),
    ("What's the grace period for rent?", "duration"),
    ("What lease lengths do you offer?", "duration"),
    ("What is the lease term at Pine Avenue?", "duration"),
    ("How far in advance do I have to give notice?", "duration"),
    ("How many hours notice before the landlord comes in?", "duration"),
    ("How long does it take to process an application?", "duration"),
    ("How long will it take to get my deposit back?", "duration"),
    ("how many nights can my friend stay over", "duration"),
    ("What is the minimum stay for the cottage?", "duration"),
    ("How many months is the shortest lease?", "duration"),
    ("How much time do I have to return the keys?", "duration"),
    ("In the Ontario tenancy agreement, how much written notice is required before a rent increase?", "duration"),
    ("How much notice must the tenant give to terminate the Barbados lease for its convenience?", "duration"),
    ("How long before the lease ends do you send a renewal offer?", "duration"),
    ("How many years is the renewal option?", "duration"),
    ("What's the response time for urgent repairs?", "duration"),
    ("how long are guests allowed to park in the visitor spaces", "duration"),
    ("notice period?", "duration"),
    # --- date / time ---
    ("When is rent due?", "date"),
    ("When is rent due each month?", "date"),
    ("What day is trash pickup at Oak Street Apartments?", "date"),
    ("What are your office hours?", "date"),
    ("What are the quiet hours?", "date"),
    ("What time does the office open on Saturday?", "date"),
    ("When does the lease start?", "date"),
    ("When can I move in?", "date"),
    ("When is the studio available?", "date"),
    ("According to the Ontario tenancy agreement, during what hours may the landlord enter the unit after giving notice?", "date"),
    ("What time is the laundry room open until?", "date"),
    ("When does the Barbados lease end?", "date"),
    ("What date does the sample lease begin?", "date"),
    ("Which day is recycling collected?", "date"),
    ("What days is the superintendent available?", "date"),
    ("When will I get my deposit back?", "date"),
    ("when do I have to be out by on my last day", "date"),
    ("How often is trash collected?", "date"),
    ("What is the deadline to pay rent?", "date"),
    ("By when do I need to return my keys?", "date"),
    ("What hours can I move furniture in?", "date"),
    ("When is the roof deck open?", "date"),
    ("What time does the front desk close?", "date"),
    ("What is the move-in date for unit 3A?", "date"),
    ("Until what time is the fitness room open?", "date"),
    ("On what date is the heat turned on for the season?", "date"),
    ("By what date must the renewal be signed?", "date"),
    ("In what year was the house built?", "date"),
    ("On which day is bulk trash collected?", "date"),
    ("How late can I do laundry?", "date"),
    ("When are window AC units allowed?", "date"),
    ("office hours", "date"),
    ("rent due date?", "date"),
    ("When is rent considered late?", "date"),
    # --- count ---
    ("How many parking spaces do I get?", "count"),
    ("How many cats can I have?", "count"),
    ("How many pets can I keep at Pine Avenue?", "count"),
    ("How many bedrooms does the Barbados embassy residence have?", "count"),
    ("How many bathrooms does the cottage have?", "count"),
    ("how many people can live in a studio", "count"),
    ("How many visitor spaces are there?", "count"),
    ("What is the maximum number of pets?", "count"),
    ("How many homes are in the Oak Street building?", "count"),
    ("How many guests does the listing accommodate?", "count"),
    ("What's the number of keys I get at move-in?", "count"),
    ("How many floors does Pine Avenue Lofts have?", "count"),
    ("How many returned payments before you require certified funds?", "count"),
    ("How many units are available right now?", "count"),
    ("how many dogs are allowed per apartment", "count"),
    ("What is the total number of occupants allowed?", "count"),
    ("How many square feet is unit 2A?", "count"),
    ("How many adults need to fill out an application?", "count"),
    # --- yes / no ---
    ("Can I have a cat?", "yes_no"),
    ("Are dogs allowed?", "yes_no"),
    ("Is there a late fee?", "yes_no"),
    ("Is smoking allowed on the balcony?", "yes_no"),
    ("Can I pay rent in cash?", "yes_no"),
    ("Is renters insurance required?", "yes_no"),
    ("Do you accept housing vouchers?", "yes_no"),
    ("Is internet included in the rent at Pine Avenue Lofts?", "yes_no"),
    ("Can I sublet my apartment?", "yes_no"),
    ("Can I rent my place on Airbnb?", "yes_no"),
    ("Is parking included?", "yes_no"),
    ("Isn't parking included in the rent?", "yes_no"),
    ("Under the Ontario agreement, may the landlord charge a fee for consenting to a sublet?", "yes_no"),
    ("Do I need to give written notice?", "yes_no"),
    ("Is there guest parking at Oak Street?", "yes_no"),
    ("Can I paint my bedroom?", "yes_no"),
    ("Are washers and dryers included in the lofts?", "yes_no"),
    ("Do you allow service animals?", "yes_no"),
    ("Will I get my deposit back with interest?", "yes_no"),
    ("Is heat included at Oak Street?", "yes_no"),
    ("Can I install a window air conditioner?", "yes_no"),
    ("Is the deposit refundable?", "yes_no"),
    ("Does the building have an elevator?", "yes_no"),
    ("Can my boyfriend move in with me?", "yes_no"),
    ("Do I have to pay pet rent for an assistance animal?", "yes_no"),
    ("Can I change the locks?", "yes_no"),
    ("Is there a fee to pay by bank transfer?", "yes_no"),
    ("Are there any fees for paying online?", "yes_no"),
    ("Do you know if dogs are allowed at Oak Street?", "yes_no"),
    ("I was wondering whether I can keep a bike in my unit", "yes_no"),
    ("can i have a dog", "yes_no"),
    ("Is the garage secured?", "yes_no"),
    ("Should I tell you before a guest stays two weeks?", "yes_no"),
    ("Does the lease renew automatically?", "yes_no"),
    ("Is it ok to put a grill on the patio?", "yes_no"),
    ("Can't I just pay the late fee later?", "yes_no"),
    ("Hi! Are cats OK in the studios?", "yes_no"),
    ("Is there a pet deposit at Oak Street?", "yes_no"),
    ("Am I allowed to have a roommate?", "yes_no"),
    ("Could I break my lease early?", "yes_no"),
    # --- contact (names, parties, phones, e-mail, addresses) ---
    ("Who is the landlord?", "contact"),
    ("Who is the on-site superintendent?", "contact"),
    ("What's the emergency number?", "contact"),
    ("What number do I call for emergencies?", "contact"),
    ("Where is the Harborview office?", "contact"),
    ("How do I contact Harborview?", "contact"),
    ("What is the office email address?", "contact"),
    ("Which suite does the tenant occupy in the Emeryville office lease?", "contact"),
    ("Who do I call if I smell gas?", "contact"),
    ("Who pays for electricity?", "contact"),
    ("What's the address of Pine Avenue Lofts?", "contact"),
    ("Where do I send my rent check?", "contact"),
    ("Who is the tenant in the Barbados lease?", "contact"),
    ("What is the phone number for the front desk?", "contact"),
    ("Send me the office address", "contact"),
    ("How can I reach the superintendent?", "contact"),
    ("Who should I make the check payable to?", "contact"),
    ("Where do I drop off my keys?", "contact"),
    ("What is the landlord's name?", "contact"),
    ("Whom do I notify about a leak?", "contact"),
    ("What's the website for the resident portal?", "contact"),
    ("Who manages Oak Street Apartments?", "contact"),
    ("emergency number", "contact"),
    ("Which unit is the superintendent in?", "contact"),
    ("Who signed the Barbados lease for the United States?", "contact"),
    # --- list ---
    ("What utilities are included?", "list"),
    ("Which utilities do I pay for?", "list"),
    ("What amenities does Pine Avenue Lofts have?", "list"),
    ("What are the house rules at the Short North - Italianate Cottage?", "list"),
    ("What payment methods do you accept?", "list"),
    ("What appliances come with the apartment?", "list"),
    ("What pets are allowed at Pine Avenue?", "list"),
    ("What documents do I need to apply?", "list"),
    ("Which services does the landlord provide in the Barbados lease?", "list"),
    ("What fees do I pay when I move in?", "list"),
    ("List the shared spaces at Oak Street", "list"),
    ("What kinds of animals can I keep?", "list"),
    ("What are the requirements to rent?", "list"),
    ("What items are included in the rent under the Ontario form?", "list"),
    ("What restrictions apply to dogs?", "list"),
    ("What features does the studio have?", "list"),
    ("What are the ways to pay rent?", "list"),
    ("Which appliances are in unit 2B?", "list"),
    ("Can you list the emergencies I should call about?", "list"),
    ("What types of payment are accepted?", "list"),
    # --- open ---
    ("Tell me about the lease.", "open"),
    ("Tell me about the Emeryville office lease", "open"),
    ("Describe the Pine Avenue lease", "open"),
    ("Give me an overview of the Barbados lease", "open"),
    ("What are the key terms of the sample lease?", "open"),
    ("What does the lease say about pets?", "open"),
    ("How do I pay rent online?", "open"),
    ("How do I submit a maintenance request?", "open"),
    ("What happens if my rent payment is returned?", "open"),
    ("What should I do if I am locked out?", "open"),
    ("Where do I do my laundry?", "open"),
    ("Why was I charged a late fee?", "open"),
    ("And pets?", "open"),
    ("What about parking?", "open"),
    ("My sink is leaking", "open"),
    ("How do I renew my lease?", "open"),
    ("What is the pet policy?", "open"),
    ("What are the lease terms?", "open"),
    ("Explain the security deposit rules", "open"),
    ("Where is the laundry room?", "open"),
    ("How does AutoPay work?", "open"),
    ("What do I need to do when I move out?", "open"),
    ("Summarize the Ontario tenancy agreement", "open"),
    ("What should I know before signing?", "open"),
    ("How do I apply for an apartment?", "open"),
]


def test_the_table_is_big_and_covers_every_kind():
    assert len(PHRASINGS) >= 200
    assert len({q for q, _ in PHRASINGS}) == len(PHRASINGS), "duplicate phrasings"
    per_kind = {k: sum(1 for _, kind in PHRASINGS if kind == k) for k in KINDS}
    assert all(n >= 15 for n in per_kind.values()), per_kind


@pytest.mark.parametrize("question,kind", PHRASINGS)
def test_classify_question(question, kind):
    got = classify_question(question)
    assert got.kind == kind, f"{question!r}: {got}"
    assert got.cue


def test_accuracy_over_the_table():
    right = sum(classify_question(q).kind == k for q, k in PHRASINGS)
    assert right / len(PHRASINGS) >= 0.97


@pytest.mark.parametrize("question,kind,cue", [
    ("When is rent due?", "date", "when"),
    ("How much notice do I give?", "duration", "how_much_time"),
    ("How much is the deposit?", "amount", "how_much"),
    ("Is there a late fee?", "yes_no", "aux"),
    ("What is the late fee?", "amount", "what_np"),
    ("How many parking spaces?", "count", "how_many"),
    ("Can I have a cat?", "yes_no", "aux"),
    ("Who is the landlord?", "contact", "who"),
    ("What utilities are included?", "list", "what_np"),
    ("Tell me about the lease", "open", "open_request"),
])
def test_documented_ambiguous_cases_and_their_cues(question, kind, cue):
    got = classify_question(question)
    assert (got.kind, got.cue) == (kind, cue)


def test_compound_questions_carry_the_other_kinds_as_alternatives():
    got = classify_question("When is rent considered late, and what is the fee?")
    assert got.kind == "date" and "amount" in got.alternatives
    got = classify_question("Who is the on-site superintendent and when is he available?")
    assert got.kind == "contact" and got.alternatives == ("date",)
    assert classify_question("How much is the deposit?").alternatives == ()


def test_when_questions_accept_a_duration_answer():
    got = classify_question("When will I get my deposit back?")
    assert got.kinds == ("date", "duration")


def test_negation_is_flagged():
    assert classify_question("Isn't parking included?").negated
    assert classify_question("Can I not pay by card?").negated
    assert not classify_question("Is parking included?").negated


def test_a_choice_between_typed_values_takes_their_kind():
    assert classify_question("Is the deposit $500 or $1,000?").kind == "amount"
    assert classify_question("Is the notice 30 days or 60 days?").kind == "duration"
    assert classify_question("Is the lease renewable or not?").kind == "yes_no"


@pytest.mark.parametrize("bad", ["", "   ", "?!", None, 42])
def test_bad_questions_raise_input_error(bad):
    with pytest.raises(InputError, match="question"):
        classify_question(bad)


def test_answer_type_is_frozen():
    got = classify_question("How much is rent?")
    assert isinstance(got, AnswerType)
    with pytest.raises(AttributeError):
        got.kind = "open"  # type: ignore[misc]


# --- values_of_type on real clause wording (knowledge/ leases and FAQs, shared/corpus leases) ---

def _vals(text, kind, question=""):
    return [(v.value, v.unit) for v in values_of_type(text, kind, question)]


def test_money_values_with_currency_rate_and_written_forms():
    text = ("Pet rent is $35 per month for each cat. A returned or declined payment costs $30; "
            "the deposit is 500 dollars. Card payments have a 2.95% processing fee; ACH has no fee.")
    got = values_of_type(text, "amount")
    assert [(v.value, v.unit, v.per) for v in got] == [
        ("35", "$", "month"), ("30", "$", ""), ("500", "$", ""), ("2.95", "%", ""), ("0", "$", "")]
    assert _vals("BDS$6,700 per month for the initial three years", "amount") == [("6700", "BDS")]
    assert _vals("a penalty fee of one month’s rent", "amount") == [("1", "month_rent")]
    assert _vals("Security deposit: $20,000.00, as more fully described", "amount") == [("20000", "$")]
    assert _vals("equal to 150% of the sum of the Base Rent", "amount") == [("150", "%")]


def test_listing_fields_are_typed_by_their_label():
    text = "Classic one-bedroom\nPrice: 1450\nBedrooms: 1\nSecurity deposit: 1450\nMinimum nights: 2"
    assert _vals(text, "amount") == [("1450", "$"), ("1450", "$")]
    assert ("1", "bedrooms") in _vals(text, "count")
    assert _vals(text, "duration") == [("2", "day")]


def test_durations_are_normalised_to_days_and_months():
    assert _vals("at least thirty (30) days written notice", "duration") == [("30", "day")]
    assert _vals("within 48 hours after receiving notice", "duration") == [("2", "day")]
    assert _vals("for six (6) years beginning June 28, 2002", "duration") == [("72", "month")]
    assert _vals("requires 30-day written notice", "duration") == [("30", "day")]
    assert _vals("routine repairs within 3 business days", "duration") == [("3", "business_day")]
    assert _vals("up to 14 consecutive nights", "duration") == [("14", "day")]
    assert values_of_type("at least thirty (30) days", "duration")[0].qualifier == "at least"


def test_dates_times_weekdays_and_days_of_the_month():
    text = ("If rent is not received in full by 11:59 p.m. on the 5th day of the month, a late fee "
            "is charged. Trash goes out every Tuesday. The lease begins on May 1, 2025.")
    assert _vals(text, "date") == [("time:23:59", ""), ("day:5", ""), ("weekday:tuesday", ""), ("2025-05-01", "")]
    assert _vals("due on the first day of each month", "date") == [("day:1", "")]
    assert _vals("open from 9 a.m. to 5 p.m., closed at noon", "date") == [
        ("time:09:00", ""), ("time:17:00", ""), ("time:12:00", "")]
    assert _vals("Resident may keep up to two cats", "date") == []  # the verb "may" is no month


def test_counts_with_their_nouns():
    text = "This property comprises 3 bedrooms, 3 bathrooms and up to two (2) cats; six visitor spaces."
    assert _vals(text, "count") == [("3", "bedrooms"), ("3", "bathrooms"), ("2", "cats"), ("6", "visitor spaces")]
    assert values_of_type(text, "count")[2].qualifier == "up to"
    assert _vals("see Clause 9 and Section 6 of the lease", "count") == []


def test_contacts_phones_emails_addresses_names_and_parties():
    text = ("Call the office at 555-0100, email office@harborview.example, or visit us at 88 Harbor "
            "Street, Suite 200. The superintendent is Luis Ortega. Landlord pays for heat.")
    got = values_of_type(text, "contact")
    units = [v.unit for v in got]
    assert {"phone", "email", "address", "name", "party"} <= set(units)
    assert ("5550100", "phone") in _vals(text, "contact")
    assert ("luis ortega", "name") in _vals(text, "contact")


def test_yes_no_polarity_about_the_asked_thing():
    q = "Can I have a dog?"
    assert _vals("Dogs are not permitted, and no other animals may be kept.", "yes_no", q) == [("no", "")]
    assert _vals("Cats and dogs are permitted.", "yes_no", q) == [("yes", "")]
    assert _vals("No pets are allowed without written permission of the Landlord.", "yes_no", "Can I have a pet?") == [
        ("conditional", "")]
    assert values_of_type("The laundry room is in the basement.", "yes_no", q) == []


def test_values_of_type_rejects_unknown_kinds_and_list_kinds_have_no_values():
    with pytest.raises(InputError, match="kind"):
        values_of_type("$5", "money")
    with pytest.raises(InputError, match="text"):
        values_of_type(None, "amount")  # type: ignore[arg-type]
    assert values_of_type("heat, water and trash", "list") == []
    assert values_of_type("", "amount") == []
