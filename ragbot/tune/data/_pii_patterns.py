"""Regular expressions and word lists behind `ragbot.tune.data.pii` (constants only, no state).

Sources: street suffixes follow USPS Publication 28 appendix C1 (primary names and common
abbreviations); European street words are the usual generic terms of each language; the
military forms (PSC/Unit/CMR ... Box ..., APO/FPO/DPO AA|AE|AP) are USPS's.
"""

from __future__ import annotations

import re


def _char_class(pred) -> str:
    """A regex character class body for every BMP character satisfying `pred` (as ranges)."""
    out, start, prev = [], None, None
    for cp in range(0x80, 0x10000):
        if pred(chr(cp)):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            out.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
            start = None
    return "A-Z" + "".join(out) if pred("A") else "a-z" + "".join(out)


UP = _char_class(str.isupper)            # upper-case letters (Latin, Greek, Cyrillic, ...)
LO = _char_class(str.islower)
L = f"{UP}{LO}"                          # letters that have a case
CAP = rf"[{UP}][{L}'’\-]*"               # a capitalised word: "Koskikatu", "O'Neil", "Jean-Luc"
WORD = rf"[{L}][{L}'’\-]*"               # any cased word

# ---------------------------------------------------------------- validated number types
EMAIL = re.compile(r"(?<![\w.+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b")
IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b")
# 12-19 digits, contiguous or in groups of 4 (last group 1-4) or Amex 4-6-5, single space/dash
CARD = re.compile(r"(?<![\d\-.+])(?:\d{12,19}|\d{4}(?:([ \-])\d{4}){2}\1\d{1,7}|\d{4}[ \-]\d{6}[ \-]\d{5})(?![\d\-]|\.\d)")
SSN = re.compile(r"(?<![\d\-])(\d{3})([\- ])(\d{2})\2(\d{4})(?![\d\-])")
SSN_CUE = re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?| #)?)\b[^\d\n]{0,20}?(\d{9})\b")
# words (with misspellings common in support chats) that make a bare digit run an identifier, not a phone or card
ID_CONTEXT = re.compile(r"(?i)(?:order|ordedr|oder|purcha\w*|purchae\w*|puchase|invoice|tracking|reference|ref|id|ticket|case|transaction|account|acct|#)\W{0,3}(?:\w+\W+){0,4}$")
CARD_CONTEXT = re.compile(r"(?i)(?:card|cc|credit|debit|visa|mastercard|amex|maestro)\b")

# ---------------------------------------------------------------- phone numbers
PHONE = re.compile(
    r"(?<![\w+/\-.])(?:\+|\b00)?(?:\(\d{1,5}\)|\d)(?:[ .\-]?(?:\(\d{1,4}\)|\d)){5,20}"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w/]|[\-.]\d)")
# dates, times and IPv4 addresses: digit runs that are not phone numbers
NOT_PHONE = re.compile(r"\b(?:19|20)\d\d[\-./]\d{1,2}[\-./]\d{1,2}(?:[ T]\d{1,2}:\d\d(?::\d\d)?)?|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b\d{1,2}:\d\d(?::\d\d)?\b")
ZIP_LIKE = re.compile(r"^\d{4,5}-\d{3}$")
DATE_LIKE = re.compile(r"^(?:(?:19|20)\d\d[\-./]\d{1,2}[\-./]\d{1,2}|\d{1,2}[\-./]\d{1,2}[\-./](?:19|20)?\d\d|(?:19|20)\d\d ?[\-–] ?(?:19|20)\d\d)$")

# ---------------------------------------------------------------- street addresses
_SUFFIXES = (
    "alley|allee|aly|annex|arcade|avenue|ave|av|bayou|beach|bend|bluffs?|bottom|boulevard|blvd|branch|bridge|"
    "brooks?|burgs?|bypass|byp|camp|canyon|cape|causeway|centers?|centre|circles?|cir|cliffs?|close|clubs?|common|"
    "corners?|course|courts?|ct|coves?|creek|crescent|cres|crest|crossing|crossroads?|curve|dale|dam|divide|"
    "drives?|dr|estates?|expressway|expy|extensions?|falls?|ferry|fields?|flats?|fords?|forest|forges?|forks?|"
    "fort|freeway|fwy|gardens?|gateway|glens?|greens?|groves?|harbors?|haven|heights|hts|highway|hwy|hills?|"
    "hollow|inlet|islands?|isle|junctions?|keys?|knolls?|lakes?|land|landing|lane|ln|light|lights|loaf|locks?|"
    "lodge|loop|mall|manors?|meadows?|mews|mill|mills|mission|motorway|mount|mountains?|neck|orchard|oval|"
    "overpass|park|parkway|pkwy|pass|passage|path|pike|pines?|place|pl|plains?|plaza|points?|ports?|prairie|"
    "radial|ramp|ranch|rapids?|rd|rest|ridges?|river|road|roads|route|rte|row|rue|run|shoals?|shores?|skyway|"
    "springs?|spur|squares?|sq|station|stravenue|stream|street|streets|st|str|summit|terrace|ter|throughway|"
    "trace|track|trafficway|trail|trl|trailer|tunnel|turnpike|underpass|unions?|valleys?|via|viaduct|views?|"
    "villages?|ville|vista|walks?|wall|way|ways|wells?")
# generic street words of other languages, as a word ending ("Koskikatu") or a word ("Rákóczi út")
_EU_ENDINGS = (
    "vej|veien|vegen|vei|veg|vägen|väg|gatan|gata|gate|gade|gasse|katu|kuja|tie|polku|strasse|straße|straat|"
    "laan|weg|plein|dreef|kade|gracht|steig|platz|damm|ufer|allé|stræde|torget|torg|stig|utca|út|tér|körút|"
    "sor|ulica|street|terrasse|brekka|braut|gata|vegur|stígur|stræti")
_PREFIXES = (
    "via|viale|piazza|piazzale|corso|largo|strada|vicolo|rue|avenue|av\\.|avenida|rua|calle|carrer|camino|"
    "paseo|plaza|praça|travessa|ul\\.|ulica|al\\.|aleja|boulevard|chemin|allée|place|quai|impasse|route|"
    "rúa|trg|ulice|náměstí|odos|leoforos")
_STOP = ("the|a|an|of|to|in|on|at|and|or|my|your|our|his|her|their|is|are|was|be|for|with|from|by|it|this|"
         "that|me|we|you|i|last|next|first|please|after|before|until|day|days|year|years|am|pm")
_NSTOP = rf"(?!(?i:{_STOP})\b)"

HOUSE = r"\d{1,6}[A-Za-z]?(?:-\d{1,4}[A-Za-z]?)?"
STREET_NO = r"\d{1,5}[A-Za-z]?\.?"
# 1. "742 Evergreen Terrace", "3744 Retreat Avenue", "14 Crown Street Kishiev Squares": name words and
#    suffix capitalised; in all-lower-case texts only the unambiguous suffixes count ("3 easy ways" is no address)
_SUFFIX_LOWER = "street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|terrace|crescent|parkway|pkwy|highway|hwy"


def _street(word: str, suffixes: str, case_sensitive: bool) -> re.Pattern:
    suffix = rf"(?=[{UP}])(?i:{suffixes})" if case_sensitive else rf"(?i:{suffixes})"
    return re.compile(
        rf"(?<![\w/\-.]){HOUSE}\s+(?:{HOUSE}\s+)?(?:[NSEW]\.?\s+)?(?:{_NSTOP}{word}\.?\s+){{1,4}}"
        rf"{suffix}\b\.?(?:\s+(?:{_NSTOP}{word}\s+){{0,2}}{suffix}\b\.?)?")


ADDR_US = (_street(CAP, _SUFFIXES, True), _street(WORD, _SUFFIX_LOWER, False))
# 2. "Vesterskovvej 79", "Brucker Bundesstrasse 31", "Rákóczi út 13.", optionally after a number
ADDR_EU = re.compile(
    rf"(?i)(?<![\w\-])(?:{HOUSE}\s+)?(?:{_NSTOP}(?-i:{CAP})\s+){{0,2}}{_NSTOP}[{L}'’\-]*(?:{_EU_ENDINGS})\.?\s+{STREET_NO}(?!\w)")
# 3. "Via dei Fiorentini 17", "ul. Zamkowa 33", "654 Rua Ana Caciola 1159", "26 rue des X Thomazo"
ADDR_PREFIX = re.compile(
    rf"(?i)(?<![\w\-/])(?:(?P<lead>{HOUSE})\s+)?(?:{_PREFIXES})\s+(?:(?:de|del|dei|della|des|du|da|do|dos|das|di|la|le|van|von|of)\s+|{_NSTOP}{WORD}\s+){{0,4}}"
    rf"(?:{_NSTOP}{WORD}\s+)?(?P<no>{STREET_NO})?(?!\w)")
# 4. military and post-office boxes
ADDR_MIL = re.compile(
    r"(?i)\b(?:(?:PSC|Unit|CMR)\s+\d{3,5},?\s+Box\s+\d{3,5}|US(?:NS|NV|CGC|S)\s+[^\W\d_][\w\-]*)"
    r"(?:\s*\n?\s*[ADF]PO\s+A[AEP]\s+\d{5})?|\b[ADF]PO\s+A[AEP]\s+\d{5}|\bP\.?\s?O\.?\s+Box\s+\d{1,6}")
# 5. "the corner of Beiteveien 2 and Sieda Radial"
ADDR_CORNER = re.compile(
    rf"(?i)\b(?:the\s+)?corner\s+of\s+[^\n,;?!]{{2,60}}?\s+and\s+(?:{HOUSE}\s+)?(?:{_NSTOP}{WORD}\.?)(?:\s+{_NSTOP}{WORD}\.?){{0,3}}")
# 6. after a cue ("my address is", "lives at", "send it to"): house number and/or capitalised words
ADDR_CUE = re.compile(
    r"(?i)\b(?:address(?:es)?(?: is| was|:)|lives? (?:at|on|in)|located at|meet (?:me|you) at|stay(?:ing)? at|"
    r"send (?:it|them|this|that|a new one|the \w+) to|deliver(?:ed)? (?:it |them )?to|ship (?:it |them )?to|"
    r"return (?:it |this )?to|moved to|stop at|address with|drops? you off at|located on)\s+(?:the\s+)?")
LINE_LEAD = r"[ \t>?•·*]*"  # indentation, quote marks and bullets at the start of a line


def _cue_body(word: str) -> re.Pattern:
    return re.compile(
        rf"(?:(?:{HOUSE})[ \t]+)?(?:{_NSTOP}{word}[ \t]+){{0,3}}{_NSTOP}{word}(?:[ \t]+{STREET_NO})(?!\w)"
        rf"|{HOUSE}[ \t]+(?:{_NSTOP}{word}[ \t]+){{0,2}}{_NSTOP}{word}")


def _num_name_num(word: str) -> re.Pattern:
    """ "20789 Allika 46", "Suite 541 6343 Skogstien 106", "808 Kálmán Imre u. 12." """
    return re.compile(
        rf"(?<![\w\-.,])(?:(?i:apt\.?|suite|unit)[ \t]*\d{{1,5}}[ \t]+)?{HOUSE}[ \t]+(?:{_NSTOP}{word}\.?[ \t]+){{1,3}}"
        rf"(?:[{LO}]{{1,4}}\.[ \t]+)?"
        rf"{STREET_NO}(?!\w)")


def _tail(word: str) -> re.Pattern:
    item = rf"(?:{_NSTOP}{word}\.?|\(\w+\))"
    particle = r"(?:de|del|la|le|di|da|do|dos|das|du|nad|pod|am|an der|sur|en|y|i)[ \t]+"
    return re.compile(
        rf"(?:[ \t]*,[ \t]*|[ \t]*\n{LINE_LEAD}(?:,[ \t]*)?)(?:{item}(?:[ \t]+(?:{particle})?{item}){{0,3}}"
        rf"(?:[ \t]+\d{{3,6}}(?:[ \t]\d{{2,3}})?)?|\d{{4,6}}(?:[ \t]\d{{2,3}})?(?:[ \t]+{item}(?:[ \t]+{item}){{0,2}})?)"
        rf"(?=[ \t]*(?:[,\n.?!;]|$))")


# (capitalised-words version, any-case version for all-lower-case texts)
ADDR_CUE_BODY = (_cue_body(CAP), re.compile(rf"{HOUSE}[ \t]+" + _cue_body(WORD).pattern))
ADDR_NNN = _num_name_num(CAP)  # capitalised texts only: "what is 13 times 57" is no address
# after one blank line, a "Country 12345" line still belongs to the address
ADDR_TAIL_BLANK = re.compile(rf"[ \t]*\n{LINE_LEAD}\n{LINE_LEAD}(?:{CAP}[ \t]+){{0,3}}\d{{4,6}}(?=[ \t]*(?:\n|$))")
ADDR_UNIT = re.compile(rf"(?i)(?:,?[ \t]+|,?[ \t]*\n{LINE_LEAD})(?:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.?|#)\s*\d{{1,5}}[A-Za-z]?\b\.?")
ADDR_TAIL = (_tail(CAP), _tail(WORD))
# same-line continuation without a comma: only upper-case city words and state codes ("Suite 104 Veszprém VE")
ADDR_TAIL_SAMELINE = re.compile(rf"(?:[ \t]+(?:[{UP}][{UP}\-]+|[{UP}][{L}]+(?=[ \t]+[{UP}]{{2,3}}\b))){{1,3}}(?:[ \t]+\d{{4,6}})?(?!\w)")

# ---------------------------------------------------------------- person names
TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mme|Mlle|Herr|Frau|mr|mrs|ms|dr|MR|MRS|MS|DR)\.?[ \t]+(?={WORD})")
# cues after which a lower-case word is still taken for a name in all-lower-case texts ("my name is jo")
NAME_CUE_STRONG = re.compile(
    r"(?i)\b(?:my name is|call me)[ \t]*:?[ \t]*"
    r"|\bname[^.?!\n]{0,30}\?[ \t]*(?:(?:user|customer|me)[ \t]*:[ \t]*)?"
    r"|(?:^|\n)[ \t]*(?:name|full name|customer|account holder|user)[ \t]*:[ \t]*")
# cues after which only a capitalised word is a name ("Hi Anna", "speak to Mr. X", "Regards,\nJane")
NAME_CUE = re.compile(
    r"(?i)\b(?:name is|name's|called|named(?: him| her)?|i am|i'm|this is|signed|yours truly|(?:best |kind |warm )?regards|sincerely|cheers|thanks|"
    r"thank you|dear|hi|hello|hey)[ \t]*[,:]?[ \t]*\n?[ \t]*"
    r"|\b(?:says|said|asked|replied|told|shouted at|speak (?:to|with)|ask for|talk to|change it to|"
    r"correct it to|under(?: my \w+'s)? name|account is under|name (?:on|in) the account is|directed by|"
    r"follow up with|(?:my|our|his|her) (?:kid|son|daughter|child|wife|husband|partner|mother|"
    r"father|mom|dad|brother|sister|friend|tenant|landlord|roommate|neighbou?r|colleague|boss|manager)(?:'s name is)?)"
    r"[ \t]*:?[ \t]*")
# a name followed by a speech verb: "Gladys said", "Bergqvist says"
NAME_BEFORE_VERB = re.compile(
    r"(?=[ \t]+(?:said|says|shouted|asked|replied|wrote|explained|told|lives (?:at|on|in)|lived (?:at|on|in)|"
    r"had given|moved to|was born)\b)")
# the last word of an organisation, not a person ("Rand Corporation", "Smith Ltd.")
ORG_WORDS = frozenset(
    "inc inc. ltd ltd. llc corp corp. corporation company co co. group technologies technology bank holdings "
    "partners associates solutions systems services agency foundation institute university gmbh ag sa plc".split())
NAME = rf"{CAP}(?:[ \t]+(?:{CAP}|[{UP}]\.?(?![{L}])))" + "{0,3}"
NAME_RE = re.compile(NAME)
NAME_LOWER = re.compile(rf"[{LO}][{LO}'’\-]+(?:[ \t]+[{LO}]\.?(?=[ \t]))?(?:[ \t]+[{LO}][{LO}'’\-]+)?")
# words that follow a cue but are not names ("I'm Sorry", "Hi There", "This is Urgent")
NOT_NAMES = frozenset((
    "a an the i im i'd i'll i've it its is am are was were be been being not no nor so very sure sorry glad "
    "happy here there all any each every everyone team sir madam customer support service manager please "
    "thanks thank you hello hi hey dear good morning afternoon evening looking trying writing calling "
    "contacting interested unable having going just still also really new now back able wondering urgent "
    "help user bot ok okay yes mr mrs ms miss mx dr prof someone somebody anyone nobody agent representative "
    "human person department monday tuesday wednesday thursday friday saturday sunday january february "
    "march april june july august september october november december he she they we his hers him them "
    "their theirs it lives lived has had have will would can could shall should may might must do does did "
    "said says my your our this that these those friend what when where which who whom whose why how if "
    "then than as at by for from in into of on onto to with without about above after before below "
    "between during over under until upon and but or because while although though since unless let "
    "lets let's get got make made take see know think want need like well oh dear again once more most "
    "much many some such only own same other another too can't don't won't isn't aren't wasn't didn't "
    "doesn't haven't hasn't couldn't wouldn't shouldn't me something else anything nothing everything").split())
# dialogue speaker: `Anna: "..."`
SPEAKER = re.compile(rf"(?:^|\n)[ \t]*(?P<name>{CAP})[ \t]*:[ \t]*[\"“]")
