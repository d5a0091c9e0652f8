"""What a refusal means, read as a mail administrator reads it: from its status code and its words.

Three outcomes matter to a careful sender:
- HARD: the address does not work (unknown user, no such domain, account
  disabled). Suppress it.
- SOFT: the mailbox has a passing problem (full, over quota, the message
  expired in a queue, a network hiccup). Never suppress on one; only a soft
  bounce repeated over a span may.
- POLICY: the receiver refused the *sender* (spam filters, block lists, DMARC,
  SPF or DKIM failures, rate limits, content, relaying). Never blame the
  recipient: count it, alert the operator, pause the domain.

The words win over the code where they are explicit (a "550 5.1.1" that says
"blocked by policy" is policy; a "554 5.0.0" that says "user unknown" is hard),
because many servers put a generic code in front of the real reason. The
phrases follow those common MTAs write (Postfix, Exim, Sendmail, qmail,
Exchange, Gmail, Yahoo, ...); Sisimai's reason list is the map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class BounceClass(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    POLICY = "policy"


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: BounceClass
    reason: str  # a short name: user_unknown, mailbox_full, blocked, ...


def _any(*phrases: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in phrases), re.IGNORECASE)


# The receiver refused the sender or the message, not the address.
_POLICY = [
    ("dmarc", _any(r"\bdmarc\b")),
    ("spf", _any(r"\bspf\b", r"sender policy framework")),
    ("dkim", _any(r"\bdkim\b")),
    (
        "authentication",
        _any(
            r"not authenticated",
            r"authentication (?:failed|required|error)",
            r"unauthenticated",
            r"smtp auth",
        ),
    ),
    (
        "blocked",
        _any(
            r"block ?list",
            r"black ?list",
            r"\bblocked\b",
            r"\bbanned\b",
            r"\bdenylist",
            r"(?<!not )listed (?:at|on|in|by)",
            r"\b(?:rbl|dnsbl|spamhaus|spamcop|barracuda|sorbs|uceprotect|abuseat|senderscore)\b",
            r"poor reputation",
            r"\breputation\b",
            r"ip (?:address )?(?:has been )?(?:rejected|refused|banned)",
            r"connection (?:refused|rejected) (?:due|because)",
            r"client host .{0,60} rejected",
            r"not allowed to send",
            r"\bnot allowed\b",
            r"access denied",
            r"has been temporarily rate limited",
        ),
    ),
    (
        "spam",
        _any(
            r"\bspam\b",
            r"junk mail",
            r"unsolicited",
            r"bulk (?:e-?)?mail",
            r"looks like spam",
            r"content (?:rejected|filter)",
            r"message (?:content )?(?:was )?(?:rejected|refused) (?:as|for|because|due)",
            r"\bvirus\b",
            r"malware",
            r"suspicious",
            r"phish",
        ),
    ),
    ("filtered", _any(r"\bfilter(?:ed)?\b", r"refused by (?:the )?recipient", r"mail filter")),
    (
        "relaying",
        _any(
            r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)",
            r"unable to relay",
            r"not permitted to relay",
            r"we do not relay",
        ),
    ),
    (
        "sender_rejected",
        _any(
            r"sender (?:address )?(?:rejected|refused|denied|blocked|domain)",
            r"(?:mail from|from address).{0,40}(?:rejected|refused|invalid)",
            r"domain of sender address",
        ),
    ),
    (
        "protocol",
        _any(
            r"improper sequence", r"bad sequence", r"syntax error", r"command unrecognized", r"line too long"
        ),
    ),
    (
        "too_big",
        _any(r"message (?:is )?too (?:big|large)", r"exceeds (?:the )?(?:size|message size)", r"size limit"),
    ),
    (
        "policy",
        _any(
            r"\bpolicy\b",
            r"policies",
            r"security (?:reasons|policy)",
            r"not accepted",
            r"rejected for policy",
        ),
    ),
]

# The mailbox has a passing problem.
_SOFT = [
    (
        "mailbox_full",
        _any(
            r"mailbox (?:is )?full",
            r"over ?quota",
            r"quota exceeded",
            r"exceeded (?:the |storage |its )?(?:quota|allocation)",
            r"insufficient (?:system )?storage",
            r"mailbox size limit",
            r"out of (?:disk )?space",
            r"storage limit",
            r"full mailbox",
        ),
    ),
    (
        "expired",
        _any(
            r"expired",
            r"retry time(?:out)? (?:not reached|exceeded)",
            r"could not be delivered (?:for|within)",
            r"delivery time (?:expired|exceeded)",
            r"has been delayed",
            r"delayed",
            r"deferred",
            r"\bqueued\b",
            r"giving up",
        ),
    ),
    (
        "temporary",
        _any(
            r"temporar",
            r"try (?:again )?later",
            r"please retry",
            r"\btransient\b",
            r"resources",
            r"(?:service|server) (?:is )?(?:un)?available.{0,20}later",
        ),
    ),
    (
        "network",
        _any(
            r"connection (?:timed out|timeout|reset|refused|lost|dropped)",
            r"timed out",
            r"no route to host",
            r"network (?:is )?unreachable",
            r"lost connection",
            r"could not connect",
            r"unable to connect",
            r"tls (?:negotiation|handshake) failed",
            r"name service error",
            r"malformed or unexpected name server reply",
        ),
    ),
    (
        "system",
        _any(
            r"system (?:error|failure)",
            r"internal (?:server )?error",
            r"local error",
            r"mail loop",
            r"loops? back",
            r"too many hops",
            r"hop count",
        ),
    ),
    ("on_hold", _any(r"on hold", r"hold(?:ing)? (?:the )?message")),
    # Too much at once: the receiver asks for patience, it does not refuse the address.
    (
        "rate_limit",
        _any(
            r"rate limit",
            r"too many (?:connections|messages|recipients|mails)",
            r"throttl",
            r"frequency limit",
            r"try again later.{0,40}(?:rate|volume)",
        ),
    ),
]

# The address does not work.
_HARD = [
    (
        "user_unknown",
        _any(
            r"user(?:name)? (?:is )?unknown",
            r"unknown (?:user|recipient|local[- ]?part|address|mailbox)",
            r"no such (?:user|recipient|mailbox|address|account|person)",
            r"(?:user|recipient|mailbox|address|account) (?:does not|doesn't|did not|not) exist",
            r"does not exist",
            r"doesn't exist",
            r"not a valid (?:recipient|user|mailbox|address)",
            r"invalid (?:final )?(?:delivery )?(?:recipient|user(?:id)?|mailbox|address)",
            r"recipient (?:address )?(?:not found|unknown|invalid|rejected)",
            r"(?:user|mailbox|recipient) not found",
            r"address (?:is )?(?:unknown|invalid|not found)",
            r"undeliverable address",
            r"unrouteable address",
            r"no mailbox",
            r"mailbox (?:not found|unavailable|does not exist)",
            r"user not listed",
            r"not listed in",
            r"not our customer",
            r"address rejected",
            r"bad (?:destination )?(?:mailbox|address)",
            r"no valid recipients",
            r"unknown or illegal alias",
            r"doesn't have a .{0,40} account",
        ),
    ),
    (
        "disabled",
        _any(
            r"no longer (?:active|in use|available|valid|exists)",
            r"account (?:that you tried to reach )?(?:has been |is )?"
            r"(?:disabled|deactivated|closed|suspended|inactive|terminated|expired)",
            r"(?:disabled|inactive|deactivated|suspended) (?:account|mailbox|user)",
            r"mailbox (?:is )?(?:disabled|inactive|suspended)",
        ),
    ),
    (
        "host_unknown",
        _any(
            r"host (?:or domain name )?(?:not found|unknown)",
            r"the account or domain may not exist",  # cPanel's Exim, for an unroutable address
            r"unknown host",
            r"no such domain",
            r"domain (?:is )?(?:not reachable|unreachable)",
            r"domain (?:not found|does not exist|unknown|name not found)",
            r"unknown domain",
            r"name or service not known",
            r"nxdomain",
            r"no mx",
            r"mx (?:record )?not found",
            r"unrouteable (?:mail )?domain",
            r"bad destination system",
        ),
    ),
]

_AFTER_DATA = re.compile(
    r"in reply to (?:end of )?data|after end of data|after data|smtp command:? ?data|"
    r"end of data command|refused due to recipient preferences|>>> data\s*<<< [45]",
    re.IGNORECASE,
)
_FILTERING_CARRIER = re.compile(
    r"@(?:[\w.-]+\.)?(?:docomo\.ne\.jp|ezweb\.ne\.jp|au\.com|softbank\.ne\.jp|i\.softbank\.jp|disney\.ne\.jp)$",
    re.I,
)
_RCPT = re.compile(r"\bRCPT\b", re.IGNORECASE)
# Ways of saying "no such account" that only a directory lookup writes, never a content filter.
_NAMED_UNKNOWN = re.compile(
    r"not listed in (?:the )?(?:domino directory|public name & address book)|"
    r"recipient name is not recognized|invalid final delivery userid|doesn't have an? [\w.-]+ account|"
    r"mailbox (?:is )?disabled|recipientnotfound|does not exist at the organization|"
    r"no such (?:domain|host)|domain does not exist|email account that you tried to reach|"
    r"requested action not taken: mailbox unavailable",  # Outlook.com: no such mailbox
    re.IGNORECASE,
)
_REFUSED_AT_RCPT = re.compile(r">>> ?RCPT TO:?[^<]*<[^>]*>\s*<<< ?5\d\d", re.IGNORECASE)
_BLOCKLIST_LINK = re.compile(
    r"https?://\S*(?:spamhaus|spamcop|barracuda|sorbs|uceprotect|abuseat|senderscore)\.|[?&](?:ip|q)=\d",
    re.IGNORECASE,
)
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY = re.compile(r"(?<![\d.])([245])\d\d(?![\d.])")


def status_in(text: str) -> str | None:
    """The first enhanced status code (RFC 3463) in a text, like 5.1.1."""
    found = _ENHANCED.search(text)
    return ".".join(found.groups()) if found else None


def _first(rules: list[tuple[str, re.Pattern[str]]], text: str) -> str | None:
    return next((name for name, pattern in rules if pattern.search(text)), None)


def classify(
    status: str | None,
    diagnostic: str,
    *,
    action: str = "failed",
    transcript: str = "",
    recipient: str = "",
    command: str = "",
) -> Verdict:
    """What one refusal means.

    `status`: the enhanced status (5.1.1), if the report gives one; `diagnostic`:
    every word the server said about this recipient; `action`: RFC 3464's
    (failed, delayed...); `transcript`: the report's whole account of the session
    (it says at which SMTP command the refusal came); `recipient`: the address;
    `command`: the SMTP command the refusal answered, when the caller knows it
    (RCPT, MAIL, DATA: our own sessions).
    """
    text = " ".join(diagnostic.split())
    code = status or status_in(text)
    codes = {".".join(c) for c in _ENHANCED.findall(text)} | ({code} if code else set())
    temporary = action.lower() == "delayed" or (code or "").startswith("4")
    policy = _first(_POLICY, text)
    soft = _first(_SOFT, text)
    hard = _first(_HARD, text)
    # Sendmail goes on to DATA after a refused RCPT and quotes both: the RCPT refusal is the one.
    after_data = command == "DATA" or (bool(_AFTER_DATA.search(text)) and not _REFUSED_AT_RCPT.search(text))
    at_rcpt = command in ("RCPT", "MAIL") or bool(_RCPT.search(transcript) or _RCPT.search(text))
    if after_data and not temporary and hard != "disabled" and (hard or policy or not soft):
        # An address refused only after the message was sent had been accepted as an address:
        # what was refused is the message (the receiver's filter), not the recipient.
        return Verdict(BounceClass.POLICY, "filtered")
    if (
        hard == "user_unknown"
        and not temporary
        and not at_rcpt
        and not any(c.startswith(("5.1.", "5.2.1")) for c in codes)  # bad address, disabled mailbox
        and not _NAMED_UNKNOWN.search(text)
    ):
        # "User unknown" with neither a 5.1.x status nor a refused RCPT behind it: receivers'
        # filters answer so too, and the report does not say which (Sisimai reads these
        # as "filtered"). Not suppressed at once; if it keeps coming, the intake suppresses.
        return Verdict(BounceClass.POLICY, "filtered")
    if hard == "user_unknown" and _FILTERING_CARRIER.search(recipient):
        # Mobile carriers that answer their users' filters with "user unknown" (Sisimai's rhost rules).
        return Verdict(BounceClass.POLICY, "filtered")
    if soft == "rate_limit":
        return Verdict(BounceClass.SOFT, "rate_limit")
    if temporary and not hard:
        return Verdict(BounceClass.SOFT, soft or "temporary")
    if (
        policy == "sender_rejected"
        or any(c.startswith("5.7.") for c in codes)
        or _BLOCKLIST_LINK.search(text)
    ):
        # A link to a blocklist's lookup page names the sending IP, whatever code came with it.
        return Verdict(BounceClass.POLICY, policy or "policy")
    if soft == "mailbox_full" or (code or "").startswith(("5.2.2", "4.2.2")):
        return Verdict(BounceClass.SOFT, "mailbox_full")
    if policy and not (hard and hard_says_more(text)):
        return Verdict(BounceClass.POLICY, policy)
    if hard:
        return Verdict(BounceClass.HARD, hard)
    if soft:
        return Verdict(BounceClass.SOFT, soft)
    return _by_code(code, temporary)


def hard_says_more(text: str) -> bool:
    """A refusal that names the recipient as unknown beats a generic policy word near it
    ("550 5.1.1 user unknown (policy: reject)")."""
    return bool(
        re.search(
            r"user (?:is )?unknown|unknown user|no such user|does not exist|doesn't exist|"
            r"account or domain may not exist",
            text,
            re.I,
        )
    )


def _by_code(code: str | None, temporary: bool) -> Verdict:
    """No telling words: the status code alone (RFC 3463's subjects)."""
    if code is None:
        # Nothing to go on: count it, never suppress on a guess.
        return Verdict(BounceClass.SOFT, "unknown")
    klass, subject, detail = code.split(".")
    if klass == "4":
        return Verdict(BounceClass.SOFT, "temporary")
    if subject == "1" and detail in ("1", "2", "3", "6", "10"):
        return Verdict(BounceClass.HARD, "host_unknown" if detail == "2" else "user_unknown")
    if subject == "2" and detail == "1":
        return Verdict(BounceClass.HARD, "mailbox_disabled")
    if subject == "4" and detail == "4":
        return Verdict(BounceClass.HARD, "host_unknown")
    if subject == "7":
        return Verdict(BounceClass.POLICY, "policy")
    return Verdict(BounceClass.SOFT, "unknown")  # in doubt, never suppress
