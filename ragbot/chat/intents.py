"""Rule-based intent detection for the confidence gate: requests for a person, emergencies,
legal threats, discrimination, complaints and prompt-injection attempts.

Case-insensitive regular expressions with word boundaries, written for low false positives on
ordinary tenant questions: "Is there a fire extinguisher?", "Do you have a gas stove?",
"What is the fire safety policy?" or "Who is the property manager?" match nothing. Emergency
phrases inside a hypothetical ("what happens if there is a fire", "in case an outlet ever starts
sparking", "someone on call for things like floods?"), a denied danger ("no gas smell", "I don't
smell gas") or a resolved past event ("it came back on Tuesday, it's been fine since") are not
emergencies: on the 1,326 training messages of chat/data/urgency_messages.jsonl these rules
removed 14 of 24 hits on urgent and normal messages and none of the 82 on emergencies.

Measured (tests/test_intents.py re-measures and asserts floors):
- injection, deepset/prompt-injections: patterns tuned on the train split only (546 rows:
  precision 0.99, recall 0.91); on the held-out test split (116 rows) precision 1.00, recall
  0.40 - the missed test injections are mostly role-play set-ups and off-topic tasks that no
  keyword rule separates from ordinary questions;
- bitext customer-support sample: contact_human_agent recall 0.80, complaint recall 0.85, one
  hit among 4,197 requests of its other 25 intents;
- CLINC150 (23,700 assistant queries): no injection false positive except "you are now ...".
`bot_check` ("are you a real person?") is reported separately and is not a request for a
person; the gate does not hand it off by default.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

INTENTS = ("emergency", "human", "legal", "discrimination", "complaint", "injection", "bot_check", "credentials")

_F = re.IGNORECASE


def _rx(*parts: str) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p, _F) for p in parts)


_PEOPLE = (r"(?:a\s+|an\s+|the\s+|your\s+|some\s+|one\s+of\s+your\s+)?(?:real\s+|live\s+|actual\s+|human\s+)?"
           r"(?:human(?:\s+being)?|person|people|agent|operator|representative|rep|manager|supervisor|"
           r"somebody|someone|staff(?:\s+member)?|employee|property\s+manager|landlord|live\s+agent)")

# access credentials are never given out by the bot: a person verifies who is asking
_CREDENTIALS = _rx(r"\b(?:what(?:'s|\s+is|\s+are)|give\s+me|send\s+me|tell\s+me|share)\b[^.?!]{0,40}?\b"
                   r"(?:(?:wi-?fi|wireless|network|door|gate|garage|alarm|lock\s*box|key\s*pad|entry|access)\s+)?"
                   r"(?:password|passcode|pass\s+code|(?:door|gate|garage|alarm|lock\s*box|key\s*pad|entry|access)\s+code)\b")

PATTERNS: Mapping[str, tuple[re.Pattern, ...]] = MappingProxyType({
    "credentials": _CREDENTIALS,
    "human": _rx(
        rf"\b(?:speak|speaking|talk|talking|chat|chatting)\s+(?:to|with)\s+{_PEOPLE}\b",
        r"\b(?:contact|contacting|reach|call|get\s+in\s+touch\s+with)\s+(?:a\s+|an\s+)(?:real\s+|live\s+|human\s+)?"
        r"(?:human|person|agent|operator|representative|somebody|someone)\b",
        r"\b(?:contact(?:ing)?|reach)\s+(?:somebody|someone)\b",
        r"\b(?:real|live|actual)\s+(?:person|human|agent|people)\b",
        r"\bhuman\s+(?:agent|representative|support|operator)\b",
        rf"\b(?:connect|transfer|put)\s+me\s+(?:through\s+)?(?:to|with)\s+{_PEOPLE}\b",
        r"\bescalate\b",
        r"\b(?:not|no)\s+(?:a\s+)?(?:bot|robot|machine)\b",
        r"\b(?:have|get)\s+(?:a|the|your)\s+(?:manager|supervisor|person|human)\s+(?:to\s+)?call\s+me\b",
    ),
    "emergency": _rx(
        r"\b(?:this\s+is|it'?s|it\s+is|i\s+have|we\s+have|there'?s|there\s+is)\s+an?\s+emergency\b",
        r"\bflood(?:ed|ing)\b(?!\s+(?:insurance|zone|plain|risk|policy|coverage))",
        r"\b(?:a|the)\s+flood\b(?!\s+(?:insurance|zone|plain|risk|policy|coverage|map|light|clean))",
        r"\bwater\s+(?:is\s+|keeps\s+|has\s+been\s+|was\s+)?(?:pouring|gushing|spraying|flooding|streaming|"
        r"coming\s+(?:in|through|out|down)|leaking\s+(?:through|from|into))",
        r"\b(?:burst|broken|busted|bursting)\s+(?:water\s+)?(?:pipe|pipes|main|water\s+heater)\b",
        r"\bpipes?\s+(?:has\s+|have\s+|just\s+)?(?:burst|broke|exploded)\b",
        r"\b(?:ceiling|roof)\s+(?:is\s+)?(?:leaking|caving|collapsing|collapsed|falling)\b",
        r"\b(?:on|caught|catch|catching)\s+fire\b",
        r"\b(?:there'?s|there\s+is|we\s+have|i\s+have)\s+(?:a\s+)?(?:fire|smoke)\b"
        r"(?!\s+(?:extinguisher|alarm|detector|exit|escape|door|drill|code|safety|pit|place|hydrant|inspection))",
        r"\bfire\s+in\s+(?:my|the|our)\s+(?:unit|apartment|flat|kitchen|building|house|home|room|hallway|basement)\b",
        r"\bsmoke\s+(?:is\s+)?(?:coming|pouring|filling|everywhere)\b",
        r"\b(?:smell|smells|smelling|smelled)\s+(?:of\s+|like\s+)?(?:smoke|burning|gas|natural\s+gas|propane)\b",
        r"\bgas\s+(?:leak|leaking|smell)\b|\bleaking\s+gas\b",
        r"\b(?:carbon\s+monoxide|co)\s+(?:alarm|detector)\s+(?:is\s+)?(?:going\s+off|sounding|went\s+off|beeping)\b",
        r"\bcarbon\s+monoxide\s+(?:leak|poisoning)\b",
        r"\b(?:fire|smoke)\s+alarm\s+(?:is\s+)?(?:going\s+off|went\s+off|sounding)\b",
        r"\bno\s+(?:heat|heating)\b|\b(?:heat|heating|furnace|boiler)\s+(?:is\s+|has\s+)?(?:not\s+working|"
        r"isn'?t\s+working|doesn'?t\s+work|stopped\s+working|is\s+out|went\s+out|broke|broken|died)\b",
        r"\bsparking\b|\bsparks\s+(?:are\s+)?(?:coming|flying|from|out)\b|"
        r"\b(?:outlet|socket|wires?|wiring|panel|plug|switch|breaker)\b.{0,20}\bsparks?\b",
        r"\bexposed\s+wires?\b|\belectrical\s+fire\b|\belectrocut\w*|"
        r"\b(?:outlet|socket|panel)\s+(?:is\s+)?(?:smoking|burning|melting)\b",
        r"\bbreak[- ]?in\b|\bbroke\s+into\b|\bbroken\s+into\b|\bintruders?\b|\bburglar\w*|\bbeen\s+robbed\b",
        r"\bsomeone\s+(?:is\s+)?(?:in|inside|breaking\s+into)\s+my\s+(?:apartment|unit|home|house|flat)\b",
        r"\b(?:i|he|she|someone|somebody|my\s+\w+|a\s+tenant|they|"
        r"we)\s*(?:'m|'s|'re|\s+am|\s+is|\s+was|\s+are|\s+got|"
        r"\s+has\s+been|\s+have\s+been)\s+(?:badly\s+|"
        r"seriously\s+)?(?:injured|hurt|bleeding|unconscious|electrocuted)\b",
        r"\bhurt\s+(?:myself|himself|herself|themselves)\b|\b(?:collapsed|unconscious|not\s+breathing)\b",
        r"\b(?:fell|slipped)\b.{0,30}\b(?:hurt|injured|bleeding|broke\s+my|can'?t\s+(?:move|get\s+up))\b",
        r"\b(?:call(?:ed)?|need)\s+(?:911|an\s+ambulance)\b",
    ),
    "legal": _rx(
        r"\b(?:lawyer|lawyers|solicitor|lawsuit|litigation|small\s+claims|paralegals?|legal\s+clinic)\b",
        r"\b(?:filing|file|filed|lodging|lodge|bringing|bring)\s+(?:a\s+)?(?:claim|complaint|case|application)?\s*"
        r"(?:against|with)\s+(?:him|her|them|you|the\s+landlord|my\s+landlord|\w+)\s+(?:at|with|in|before)\s+"
        r"(?:the\s+)?(?:tribunal|court|board)\b|\b(?:filing|filed)\s+(?:against|with)\s+\w+\s+at\b",
        # "court" and "tribunal" only as a threat or a proceeding: "Cedar Court" is a property and
        # "which tribunal handles disputes under the agreement?" is a question about the document
        r"\b(?:take|taking|took|see|seeing|go|going|drag|dragging|haul)\s+(?:\w+\s+){0,2}to\s+(?:court|the\s+tribunal)\b",
        r"\b(?:in|into)\s+court\b|\bcourt\s+(?:order|case|date|hearing|action)\b|\bfile\s+(?:a\s+)?(?:claim|case)\s+with\b",
        r"(?<!power\sof\s)\battorneys?\b",
        r"\b(?:sue|suing)\s+(?:you|them|the|your|my|him|her|for|over|if|us|management|landlord)\b|"
        r"\b(?:going\s+to|gonna|will|i'?ll|can\s+i|could\s+i|should\s+i|threaten(?:ed|ing)?\s+to)\s+sue\b|\bsued\b",
        r"\blegal\s+(?:action|proceedings|advice|aid|case|claim|dispute)\b",
        r"\b(?:evict|evicting|evicted)\s+(?:me|us|my|our)\b|\beviction\s+(?:dispute|hearing|case|order|notice)\b",
        r"\blandlord\s+and\s+tenant\s+board\b|\brental\s+(?:tribunal|board)\b",
        r"\bhuman\s+rights\s+(?:complaint|commission|tribunal|code)\b",
    ),
    "discrimination": _rx(
        r"\bfair\s+housing\b",
        r"\bdiscriminat\w*",
        r"\b(?:won'?t|will\s+not|wouldn'?t|refuse[sd]?\s+to|does\s+not|doesn'?t|don'?t|do\s+not|not\s+allowed\s+to|"
        r"only|never)\s+(?:want\s+to\s+)?rent\s+to\b",
        r"\bbecause\s+(?:i'?m|i\s+am|we\s+are|we'?re|she\s+is|he\s+is|of\s+my|of\s+our|of\s+their)\s+(?:a\s+)?"
        r"(?:black|white|asian|hispanic|latino|latina|muslim|jewish|christian|hindu|sikh|immigrant|foreign|disabled|"
        r"gay|lesbian|trans\w*|pregnant|single\s+mother|race|religion|disability|age|ethnicity|nationality|"
        r"accent|kids|children|family|sexual\s+orientation|gender)\b",
        r"\bno\s+(?:kids|children|families|immigrants|foreigners)\s+allowed\b",
    ),
    "complaint": _rx(
        r"\b(?:i\s+want\s+to|i'?d\s+like\s+to|i\s+need\s+to|i\s+have\s+to|going\s+to)\s+complain\b",
        r"\bcomplain(?:ing|ed)?\s+about\s+(?:you|your|the\s+(?:service|staff|manager|management))\b",
        r"\b(?:make|making|file|filing|lodge|lodging|submit|submitting|raise|open)\s+(?:a\s+|an\s+)?(?:\w+\s+){0,2}"
        r"(?<!noise\s)(?:complaint|reclamation)\b",
        r"\b(?:consumer|customer)\s*(?:claim|complaint|reclamation)\b|"
        r"\bclaim\s+against\s+(?:you|your|the\s+company)\b",
        r"\bcomplaint\s+against\b",
        r"\bunacceptable\b|\boutrageous\b|\bdisgust(?:ed|ing)\b|"
        r"\bfurious\b|\bfed\s+up\b|\bsick\s+(?:and\s+tired\s+)?of\b",
        r"\b(?:so|very|extremely|really)\s+(?:angry|upset|frustrated|disappointed)\b",
        r"\b(?:was|is|are|were|being|so)\s+(?:very\s+|extremely\s+|"
        r"really\s+)?rude\b|\brude\s+(?:staff|manager|agent|person)\b",
        r"\bworst\s+(?:service|landlord|management|company|experience|"
        r"apartment|property)\b|\byou(?:'re|\s+are)\s+the\s+worst\b",
        r"\b(?:terrible|awful|horrible|appalling|lousy)\s+(?:service|management|landlord|experience|support)\b",
    ),
    "injection": _rx(
        # "ignore / forget / disregard ... previous instructions" (English)
        r"\b(?:ignore|ignoring|disregard|disregarding|forget|forgetting|drop|abandon|skip|override|bypass|leave)\s+"
        r"(?:about\s+|all\s+(?:of\s+)?|any\s+|the\s+|your\s+|my\s+|these\s+|those\s+|every\s+)*"
        r"(?:previous|prior|preceding|above|earlier|former|original|initial|system|safety|\w+\s+)?\s*"
        r"(?:instructions?|rules|prompts?|guidelines|directions|orders|commands|tasks|assignments|context|"
        r"documents|articles|information|constraints|programming|thoughts|everything|above)\b",
        r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|all)\b",
        r"\b(?:ignore|forget)\s+(?:the\s+)?above\b",
        r"\b(?:now|new|further|additional|following)\s+(?:new\s+)?(?:tasks?|"
        r"instructions?|assignments?)\s+(?:follow|are|:)",
        r"\byour\s+(?:new\s+)?(?:task|instructions?)\s+(?:is|"
        r"are)\s+now\b|\bnew\s+task\b|\bchange\s+your\s+instructions\b",
        r"\b(?:show|reveal|print|display|output|repeat|tell\s+me|give\s+me|what\s+(?:is|are|was|were))\s+"
        r"(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:your\s+(?:full\s+|entire\s+|"
        r"whole\s+|initial\s+|original\s+|hidden\s+|secret\s+)?"
        r"(?:system\s+)?(?:prompts?|prompt\s+texts?|instructions|"
        r"rules)|the\s+(?:full\s+|entire\s+|whole\s+|initial\s+|"
        r"original\s+|hidden\s+|secret\s+|system\s+)+(?:prompts?|instructions))\b",
        r"\bsystem\s+prompt\b|\bprompt[- ]texts?\b|\binitial\s+prompt\b",
        r"\bwhat\s+(?:was|is)\s+written\s+(?:at\s+the\s+beginning|above|before)\b",
        r"\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you|now\s+you\s+are|you'?re\s+now)\b",
        r"(?-i:^\s*(?:You|you)\s+are\s+(?:now\s+)?[A-Z][\w-]+|^\s*(?:Du|du)\s+bist\s+[A-Z]\w+)",
        r"\bact\s+as\s+(?:a|an|the|if|my|two|three)\b(?!\s+(?:guarantor|co-?signer|reference|witness|agent|"
        r"representative|emergency\s+contact|sub-?landlord|tenant|roommate|occupant|property\s+manager|landlord))",
        r"\bi\s+want\s+you\s+to\s+(?:act|pretend|only\s+(?:reply|respond|answer))\b",
        r"\bpretend\s+(?:you|to\s+be|that)\b|\bimagine\s+you\s+are\b|\brole[- ]?play",
        r"\bjailbreak\w*|(?-i:\bDAN\b)|\bdeveloper\s+mode\b|\bdo\s+anything\s+now\b|"
        r"\bno\s+(?:programming\s+)?(?:restrictions|guidelines|filters)\b",
        r"\b(?:answer|respond)\s+by\s+your\s+own\s+knowledge\b|"
        r"\bnot\s+(?:by|according\s+to)\s+the\s+(?:articles|documents)\b",
        r"\b(?:don'?t|do\s+not)\s+(?:answer|look)\b.{0,40}\b(?:documents|articles|question\s+but)\b",
        r"\bstay(?:s)?\s+(?:fully\s+)?in\s+(?:their|his|her|your)\s+roles?\b|\bin\s+the\s+style\s+of\b",
        r"\b(?:just|only)\s+(?:output|print)\b|\b(?:just|only)\s+(?:say|"
        r"write)\s*[:\"'“]|\bprint\s*\(|\bsay\s+that\s+you\s+hate\b|\bhaha\s+pwned\b",
        r"\bthat\s+is\s+(?:enough|done)\.\s+now\b|\bstop\s*[:\-]\s*(?:write|say|print)\b",
        r"\b(?:attention|achtung)\s*[-:!]+\s*(?:stop|stopp)\b|"
        r"\bmake\s+something\s+up\b|\bdespite\s+what\s+you'?ve\s+been\s+told\b",
        r"^\s*state\s+that\b|\b(?:additional|new)\s+instructions?\b|(?:^|\\n|\n)\s*instructions?\s*:",
        r"\binformation\s+in\s+the\s+prompt\b|\bdocument\s+context\b|\bcontext\s*:\s*\{|\$[a-z]\w*\s*[:=]",
        r"(?:\b\w\s){8,}",
        # fake markup and role headers that try to close the passages or open a new system turn
        r"</?\s*(?:passages?|system|documents?|context|instructions?|user|assistant)\s*>|"
        r"\bnew\s+system\s+(?:message|note|override|update|notice)\b|\bsystem\s+(?:message|override)\s*:|"
        r"\b(?:answer|reply\s+to|respond\s+to)\s+every\s+(?:question|message)\s+with\b",
        r"\btheoretical\s+world\b|\b(?:or\s+you\s+(?:will\s+)?die|oder\s+du\s+stirbst)\b",
        r"\b(?:two|zwei)\s+(?:actors|people|persons|personen|schauspieler)\b.{0,60}\b(?:film|movie)\b|"
        r"\b(?:leading|main)\s+roles\b|\bhauptrollen?\b",
        r"\b(?:hello|hi|hey|hallo)\s+(?:chat)?gpt\b",
        r"\b(?:generate|write|schreibe|generier\w*)\s+(?:me\s+|"
        r"sie\s+)?(?:some\s+|a\s+)?(?:python|c\+\+|sql|javascript|java|bash)\b",
        r"\b(?:untrue|false|fake)\s+headlines?\b|\bunwahre\s+überschrift\b",
        r"\b(?:simply\s+great|well\s+done|very\s+good|excellent\s+performance|"
        r"congratulations|great\s+job)\b[^?]{0,80}\bnow\b",
        # German and other languages seen in the wild
        r"\b(?:vergiss|vergessen\s+sie|ignorier\w*|missachte)\b|\bim\s+stile?\b|\bals\b[^.?!]{0,80}\bfungieren\b",
        r"\b(?:sehr\s+gut(?:\s+gemacht)?|einfach\s+großartig|gut\s+gemacht|"
        r"ausgezeichnete\s+leistung|herzlichen\s+glückwunsch)\b"
        r"[^?]{0,80}\b(?:nun|jetzt)\b",
        r"\bdu\s+bist\s+(?:keine?|jetzt|nun|ein|eine)\b|\b(?:jetzt|"
        r"nun)\s+bist\s+du\b|\bstell\s+dir\s+vor,?\s+du\s+bist\b",
        r"\b(?:alle|allen)\s+(?:vorherigen|bisherigen|vorangehenden|vorangegangenen)\b",
        r"\b(?:neue|neuen)\s+aufgabe\b|\bnun\s+folgen\s+(?:neue|weitere)\b|\babweichend\s+zu\s+vorherigen\b",
        r"\b(?:zeige|zeig)\s+(?:mir\s+)?(?:alle\s+)?(?:deine|den|die)\b.{0,30}\bprompt",
        r"\b(?:olvida|olvide|olvidar|oubliez|oublie|ignora|ignorez|dimentica|zaboravi)\b|забудь",
    ),
    # Asking whether the assistant is a bot: answered with the AI disclosure, not handed off by default.
    "bot_check": _rx(
        r"\b(?:are\s+you|you\s+are|you'?re|your|am\s+i\s+(?:talking|speaking|chatting)\s+(?:to|with)|is\s+this|"
        r"could\s+you\s+be)\s+(?:really\s+|actually\s+)?(?:a\s+|an\s+)?"
        r"(?:real|live|actual|human|person|bot|chatbot|robot|computer|machine|ai|artificial|automated|software)\b",
    ),
})

_REQUEST = re.compile(r"\b(?:want|need|like|let\s+me|can\s+i|could\s+i|may\s+i)\s+(?:to\s+)?(?:talk|speak|chat)\b|"
                      r"\b(?:connect|transfer|get|give|put)\s+me\b", _F)

# A phrase inside a hypothetical or policy question is not a live emergency.
_HYPOTHETICAL = re.compile(
    r"\b(?:if|in\s+case(?:\s+of)?|in\s+the\s+event\s+of|in\s+an?\s+emergency|for\s+things\s+like|what\s+happens|"
    r"what\s+should\s+i\s+do|how\s+do\s+i\s+report|"
    r"policy|procedure|who\s+pays|who\s+is\s+responsible|covered|insurance|prevent)\b[^.!?]{0,60}$", _F)

# A resolved past event ("the leak was fixed, all good now") is no live emergency.
_RESOLVED = re.compile(r"\b(?:turned\s+out|all\s+good\s+now|(?:is|are|it'?s|everything'?s)\s+(?:fine|ok|okay|working|"
                       r"back|drained)\s+now|(?:was|got|been|were)\s+(?:fixed|repaired|resolved)|remember\s+the|"
                       r"(?:has|have|it'?s|it\s+has)\s+been\s+fine|came\s+back\s+on|(?:you|they|team)\s+fixed|"
                       r"(?:is|are)\s+working\s+fine|(?:fd|fire\s+department)\s+(?:said|checked))\b", _F)

# A danger the message denies: "no gas smell", "I don't smell gas", "zero gas smell".
_DENIED = re.compile(r"(?:\b(?:no|not|dont|zero|never|without)|n't)\s+(?:\w+\s+)?$", _F)

# Flickering lights or power loss are emergencies together with water.
_ELECTRIC = re.compile(r"\b(?:lights?\s+(?:are\s+|is\s+|keep\s+)?flicker\w*|flickering\s+lights?|no\s+power|"
                       r"power\s+(?:is\s+|went\s+)?out|lost\s+power|power\s+outage)\b", _F)
_WATER = re.compile(r"\b(?:leak(?:s|ing|ed)?|flood\w*|soaked|dripping|pouring|water\s+(?:on|all\s+over|everywhere|"
                    r"coming|in\s+the))\b", _F)


def _first_match(patterns: Iterable[re.Pattern], text: str, guards: Sequence[re.Pattern] = ()) -> str | None:
    """The first match of `patterns` not preceded (within 80 characters) by a match of `guards`."""
    for p in patterns:
        for m in p.finditer(text):
            before = text[max(0, m.start() - 80): m.start()]
            if any(g.search(before) for g in guards):
                continue
            return m.group(0)
    return None


def detect_intents(text: str) -> dict[str, str]:
    """Intents found in `text`: {intent name: the phrase that matched}, names from INTENTS.

    An empty dict means an ordinary question. Several intents may match at once (e.g. a
    complaint that threatens court gives both 'complaint' and 'legal').
    """
    if not isinstance(text, str) or not text.strip():
        return {}
    text = " ".join(text.replace("’", "'").split())
    found: dict[str, str] = {}
    for name in INTENTS:
        hit = _first_match(PATTERNS[name], text, (_HYPOTHETICAL, _DENIED) if name == "emergency" else ())
        if hit is None and name == "emergency":
            e, w = _ELECTRIC.search(text), _WATER.search(text)
            if e and w and not _HYPOTHETICAL.search(text[: min(e.start(), w.start())]):
                hit = f"{e.group(0)} + {w.group(0)}"
        if hit is not None and not (name == "emergency" and _RESOLVED.search(text)):
            found[name] = hit
    if "bot_check" in found and "human" in found and not _REQUEST.search(text):
        del found["human"]  # "are you a real person?" asks about the bot, not for a person
    return found
