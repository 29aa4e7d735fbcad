"""A believable demo book: a photography studio's clients, sessions and contacts.

``demo_data()`` returns the three input sheets as DataFrames whose columns are exactly the keys
declared in :mod:`clv_xl.book.schema`, for three years of business before ``as_of``. Everything comes
from ``numpy.random.default_rng(seed)``, so one seed always gives the same book. The work is
vectorised per client, so ``n_clients=100_000`` takes a few seconds.

How the studio behaves (segments, churn warning signs, the fixed edge cases) is described in
``docs/demo-data.md``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .book.schema import CLIENTS, CONTACTS, SEGMENTS, SESSIONS

__all__ = ["DemoData", "demo_data", "EDGE_CASE_ROWS", "MIN_CLIENTS_FOR_EDGE_CASES"]

HISTORY_DAYS = 3 * 365  # first contacts are spread over this many days before as_of
BOOKED_AHEAD_DAYS = 90  # Booked sessions fall within this many days after as_of
WARNING_DAYS = 180  # churn warning signs show in this many days before a client's last session
MIN_GAP_DAYS = 30  # no two planned sessions of one client closer than this

#: Rows (0-based positions in ``clients``) of the deliberate edge cases; see docs/demo-data.md.
EDGE_CASE_ROWS = {
    "no_sessions": 6,  # C0007: a prospect with contacts but no session at all
    "only_cancelled": 12,  # C0013: two Cancelled sessions and nothing else
    "same_day": 20,  # C0021: two Completed sessions on one day
    "referral_chain": (29, 30, 31, 32),  # C0030 <- C0031 <- C0032 <- C0033
}
#: Books smaller than this carry no fixed edge cases.
MIN_CLIENTS_FOR_EDGE_CASES = 40

_EPOCH = datetime.date(1970, 1, 1)

# --- clients ---------------------------------------------------------------------------------
_SEGMENT_P = np.array([0.36, 0.14, 0.14, 0.20, 0.16])  # Family, Newborn, Wedding, Portrait, Corp.
_FAMILY, _NEWBORN, _WEDDING, _PORTRAIT, _CORPORATE = range(5)
assert SEGMENTS == ("Family", "Newborn", "Wedding", "Portrait", "Corporate")

_CHANNELS = np.array(["Instagram", "Google", "Website", "Referral", "Walk-in", "Facebook"],
                     dtype=object)
_CHANNEL_P = np.array([0.25, 0.20, 0.15, 0.20, 0.07, 0.13])
_REFERRAL = 3
_WEBSITE = 2
#: Acquisition cost range per channel (ads cost most, referrals least).
_COST_LO = np.array([30.0, 30.0, 10.0, 0.0, 0.0, 30.0])
_COST_HI = np.array([150.0, 150.0, 60.0, 20.0, 25.0, 150.0])
_COST_BLANK_P = 0.10
_PROSPECT_P = 0.04

_FIRST = np.array("""Olivia Liam Emma Noah Ava Oliver Sophia Elijah Isabella Lucas Mia Mason Amelia
Ethan Harper Logan Evelyn James Abigail Aiden Emily Jacob Ella Michael Grace Daniel Chloe Henry
Zoe Samuel Nora Leo Lily Owen Hannah Wyatt Aria Caleb Layla Ryan Maya Nathan Sara Adam""".split(),
                  dtype=object)
_LAST = np.array("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson
White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter""".split(),
                 dtype=object)
_COMPANY_A = np.array("""Harbor Northwind Summit Bluebird Cedar Granite Riverside Maple Beacon
Lakeside Ironwood Silverline Oakridge Meridian Pioneer""".split(), dtype=object)
_COMPANY_B = np.array(["Dental", "Realty", "Law", "Consulting", "Bakery", "Fitness",
                       "Architects", "Insurance", "Clinic", "Labs"], dtype=object)
_NOTES = np.array(["Prefers weekends", "Has a dog", "Wants prints", "Outdoor sessions only",
                   "Pays by bank transfer", "Asked about gift cards", "Shy kids",
                   "Likes black and white"], dtype=object)
_NOTES_P = 0.12

# --- sessions --------------------------------------------------------------------------------
#: Mean days between sessions after the segment's opening sessions, and its spread per client.
_INTERVAL = np.array([365.0, 365.0, 730.0, 480.0, 91.0])
_INTERVAL_SIGMA = np.array([0.25, 0.25, 0.20, 0.30, 0.20])
_GAP_SHAPE = np.array([6.0, 6.0, 4.0, 4.0, 8.0])  # gamma shape of one gap (higher: steadier)
#: Mean days a client keeps coming after the opening sessions (exponential).
_LIFETIME = np.array([1000.0, 700.0, 250.0, 600.0, 800.0])
#: Days from first contact to the first session.
_LEAD_LO = np.array([7, 20, 30, 3, 7])
_LEAD_HI = np.array([45, 120, 300, 30, 30])
_LEAD_HI_WEDDING_ONLY = 365  # a wedding booked without an engagement shoot

_P_CANCEL, _P_CANCEL_WARN = 0.07, 0.25
_P_RESCHED, _P_RESCHED_WARN = 0.085, 0.30

_PACKAGES = np.array([
    # name, low, high price
    ("Family session", 250, 450),  # 0
    ("Mini session", 120, 180),  # 1
    ("Extended family", 450, 650),  # 2
    ("Newborn session", 350, 550),  # 3
    ("Milestone 3 months", 200, 300),  # 4
    ("Milestone 6 months", 200, 300),  # 5
    ("Cake smash", 250, 350),  # 6
    ("Engagement shoot", 300, 500),  # 7
    ("Wedding day", 1500, 3000),  # 8
    ("Anniversary session", 250, 400),  # 9
    ("Portrait session", 150, 300),  # 10
    ("Senior portraits", 200, 300),  # 11
    ("Headshots", 400, 650),  # 12
    ("Team headshots", 550, 900),  # 13
    ("Corporate event", 600, 900),  # 14
], dtype=object)
_PKG_NAME = _PACKAGES[:, 0]
_PKG_LO = _PACKAGES[:, 1].astype(float)
_PKG_HI = _PACKAGES[:, 2].astype(float)
#: Packages of repeat sessions per segment, with their probabilities.
_REPEAT_PKG = {
    _FAMILY: ([0, 1, 2], [0.7, 0.2, 0.1]),
    _NEWBORN: ([0, 1, 2], [0.7, 0.2, 0.1]),
    _WEDDING: ([9, 0], [0.6, 0.4]),
    _PORTRAIT: ([10, 11, 1], [0.7, 0.15, 0.15]),
    _CORPORATE: ([12, 13, 14], [0.5, 0.25, 0.25]),
}
_EXTRAS_P = 0.3  # a completed session adds prints or an album

# --- contacts --------------------------------------------------------------------------------
_MSG_CHANNELS = np.array(["Email", "Phone", "SMS", "WhatsApp", "Instagram"], dtype=object)
_MSG_CHANNEL_P = np.array([0.35, 0.10, 0.20, 0.20, 0.15])
_MSG_CHANNEL_P_CORPORATE = np.array([0.70, 0.20, 0.05, 0.05, 0.0])
_CHECKIN_LO, _CHECKIN_HI = 75, 150  # days between check-in messages
_CHECKIN_AFTER_LAPSE = 365  # the studio keeps checking in this long after the last session
_PROSPECT_FADE = 45  # a prospect's "last session" for the reply rule: days after first contact
_REPLY_WARN_FACTOR = 0.35  # reply probability multiplier in the warning window
_REPLY_AFTER_LAPSE = 0.08


@dataclass(frozen=True)
class DemoData:
    clients: pd.DataFrame
    sessions: pd.DataFrame
    contacts: pd.DataFrame
    as_of: datetime.date


def _day(d: datetime.date) -> int:
    return (d - _EPOCH).days


def _dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[ns]")


def _uniform_int(rng, lo, hi, size=None):
    """Integers in [lo, hi] (inclusive), broadcasting lo and hi."""
    return np.floor(lo + (np.asarray(hi) - lo + 1) * rng.random(size)).astype(np.int64)


def _choice_rows(rng, n: int, probs: np.ndarray) -> np.ndarray:
    """One index per row; ``probs`` is (n, k) or (k,)."""
    cum = np.cumsum(np.broadcast_to(probs, (n, np.shape(probs)[-1])), axis=1)
    u = rng.random(n)[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1)


def demo_data(seed: int = 2026, n_clients: int = 300,
              as_of: datetime.date = datetime.date(2026, 6, 30)) -> DemoData:
    """A photography studio's book over the three years before ``as_of``.

    Deterministic for a given ``seed``. Books of at least ``MIN_CLIENTS_FOR_EDGE_CASES`` clients
    carry the fixed edge cases of ``EDGE_CASE_ROWS``.
    """
    n = int(n_clients)
    if n < 1:
        raise ValueError("n_clients must be at least 1")
    as_of = pd.Timestamp(as_of).date()
    today = _day(as_of)
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    edges = n >= MIN_CLIENTS_FOR_EDGE_CASES

    # --- clients ------------------------------------------------------------------------------
    seg = _choice_rows(rng, n, _SEGMENT_P)
    # the studio grows a little: slightly more first contacts lately
    first = np.sort(today - HISTORY_DAYS + np.floor(HISTORY_DAYS * rng.random(n) ** 0.85)
                    .astype(np.int64))
    channel = _choice_rows(rng, n, _CHANNEL_P)
    prospect = rng.random(n) < _PROSPECT_P
    if edges:
        e = EDGE_CASE_ROWS
        prospect[[e["no_sessions"], e["only_cancelled"]]] = True
        prospect[e["same_day"]] = False
        seg[e["same_day"]] = _FAMILY
        chain = np.array(e["referral_chain"])
        prospect[chain] = False
        channel[chain[0]] = 0  # Instagram: the chain starts with an ad
        channel[chain[1:]] = _REFERRAL
        for a, b in zip(chain[:-1], chain[1:]):  # referrers strictly earlier
            first[b] = max(first[b], first[a] + 1)
        first[chain[-1] + 1:] = np.maximum(first[chain[-1] + 1:], first[chain[-1]])

    # referrals name a client whose first contact is strictly earlier
    earlier = np.searchsorted(first, first, side="left")
    u_ref = rng.random(n)
    referrer = np.where(channel == _REFERRAL, np.floor(u_ref * earlier).astype(np.int64), -1)
    no_one = (channel == _REFERRAL) & (earlier == 0)
    channel[no_one] = _WEBSITE
    referrer[no_one] = -1
    if edges:
        referrer[chain[0]] = -1
        referrer[chain[1:]] = chain[:-1]

    cost = np.round(_COST_LO[channel] + (_COST_HI[channel] - _COST_LO[channel]) * rng.random(n), 2)
    cost[rng.random(n) < _COST_BLANK_P] = np.nan

    width = max(4, len(str(n)))
    ids = np.array([f"C{i + 1:0{width}d}" for i in rows], dtype=object)
    person = (_FIRST[rng.integers(0, len(_FIRST), n)] + " "
              + _LAST[rng.integers(0, len(_LAST), n)])
    company = (_COMPANY_A[rng.integers(0, len(_COMPANY_A), n)] + " "
               + _COMPANY_B[rng.integers(0, len(_COMPANY_B), n)])
    name = np.where(seg == _CORPORATE, company, person)
    notes = np.where(rng.random(n) < _NOTES_P, _NOTES[rng.integers(0, len(_NOTES), n)], None)
    if edges:
        notes[e["no_sessions"]] = "Demo edge case: enquired, never booked"
        notes[e["only_cancelled"]] = "Demo edge case: only cancellations"
        notes[e["same_day"]] = "Demo edge case: two sessions on one day"
        notes[chain[-1]] = "Demo edge case: end of a referral chain"

    # --- planned sessions: an (n, K) grid of day offsets from the first session ---------------
    K = HISTORY_DAYS // MIN_GAP_DAYS + 8
    interval = _INTERVAL[seg] * np.exp(rng.normal(0.0, _INTERVAL_SIGMA[seg]))
    shape = _GAP_SHAPE[seg][:, None]
    gaps = rng.gamma(shape, 1.0, size=(n, K)) / shape * interval[:, None]
    gaps = np.maximum(np.rint(gaps), MIN_GAP_DAYS).astype(np.int64)
    gaps[:, 0] = 0
    newborn = seg == _NEWBORN
    wedding = seg == _WEDDING
    engaged = wedding & (rng.random(n) < 0.5)  # an engagement shoot before the wedding
    jitter = np.rint(rng.normal(0.0, 7.0, (n, 3))).astype(np.int64)
    gaps[newborn, 1:4] = np.array([90, 90, 180]) + jitter[newborn]  # 3, 6 and 12 months
    gaps[engaged, 1] = _uniform_int(rng, 60, 240, n)[engaged]
    offset = np.cumsum(gaps, axis=1)

    # the opening sessions always happen; a lifetime after them decides the rest
    n_open = np.ones(n, dtype=np.int64)
    n_open[newborn] = _choice_rows(rng, n, np.array([0.1, 0.1, 0.2, 0.6]))[newborn] + 1
    n_open[engaged] = 2
    lifetime = rng.exponential(_LIFETIME[seg])
    planned = offset <= (offset[rows, n_open - 1] + lifetime)[:, None]
    last = planned.sum(axis=1) - 1

    lead_hi = np.where(wedding & ~engaged, _LEAD_HI_WEDDING_ONLY, _LEAD_HI[seg])
    lead = _uniform_int(rng, _LEAD_LO[seg], lead_hi, n)
    if edges:
        lead[e["same_day"]] = 14
    day = (first + lead)[:, None] + offset
    lapse = day[rows, last]  # the day of the client's last session: they lapse after it

    # kind of package
    kind = np.zeros((n, K), dtype=np.int64)
    for s, (pkgs, p) in _REPEAT_PKG.items():
        m = seg == s
        kind[m] = np.array(pkgs)[_choice_rows(rng, int(m.sum()) * K, np.array(p))
                                 .reshape(-1, K)]
    kind[newborn, :4] = [3, 4, 5, 6]
    kind[wedding, 0] = 8
    kind[engaged, 0:2] = [7, 8]

    # status: warning signs in the months before the last session (not for one-off weddings)
    past = day <= today
    # the first session of a client always happens: a client who never completes one is a prospect
    repeat = np.arange(K)[None, :] >= 1
    warn = past & repeat & ((lapse[:, None] - day) <= WARNING_DAYS) & ~wedding[:, None]
    cancelled = repeat & (rng.random((n, K)) < np.where(warn, _P_CANCEL_WARN, _P_CANCEL))
    moved = rng.random((n, K)) < np.where(warn, _P_RESCHED_WARN, _P_RESCHED)
    moved_day = day - _uniform_int(rng, 7, 35, (n, K))
    n_past = past.sum(axis=1)
    booked = (np.arange(K)[None, :] == n_past[:, None]) & (day <= today + BOOKED_AHEAD_DAYS)
    keep = planned & (past | booked) & ~prospect[:, None]
    if edges:
        moved[e["same_day"], 0] = False

    factor = np.exp(rng.normal(0.0, 0.30, n))  # some clients buy bigger albums than others
    price = _PKG_LO[kind] + (_PKG_HI[kind] - _PKG_LO[kind]) * rng.random((n, K))
    price = np.rint(price * factor[:, None] / 5.0) * 5.0
    extras = np.where(rng.random((n, K)) < _EXTRAS_P, np.round(15 + 165 * rng.random((n, K)), 2),
                      0.0)
    amount = price + extras

    # 0 Completed, 1 Cancelled, 2 Rescheduled, 3 Booked (schema.STATUSES order)
    status = np.where(booked, 3, np.where(cancelled, 1, 0))
    ci, ck = np.nonzero(keep)
    s_client = [ci]
    s_day = [day[ci, ck]]
    s_kind = [kind[ci, ck]]
    s_status = [status[ci, ck]]
    s_amount = [np.where(status[ci, ck] == 0, amount[ci, ck], 0.0)]
    # a Rescheduled row on the original day of a booking that was moved to `day`
    rm = keep & moved & ~cancelled & (moved_day >= first[:, None]) & (moved_day <= today)
    ri, rk = np.nonzero(rm)
    s_client.append(ri)
    s_day.append(moved_day[ri, rk])
    s_kind.append(kind[ri, rk])
    s_status.append(np.full(len(ri), 2))
    s_amount.append(np.zeros(len(ri)))

    # prospects: a recent one may have a booking ahead; an older one may have cancelled one
    u_p = rng.random(n)
    p_booked = prospect & (first >= today - 60) & (u_p < 0.5)
    p_cancel = prospect & ~p_booked & (u_p < 0.25)
    p_day = np.where(p_booked, today + _uniform_int(rng, 1, BOOKED_AHEAD_DAYS, n),
                     first + _uniform_int(rng, 10, 60, n))
    p_cancel &= p_day <= today
    if edges:
        p_booked[e["no_sessions"]] = p_cancel[e["no_sessions"]] = False
        p_booked[e["only_cancelled"]] = p_cancel[e["only_cancelled"]] = False
    pi = np.nonzero(p_booked | p_cancel)[0]
    s_client.append(pi)
    s_day.append(p_day[pi])
    s_kind.append(kind[pi, 0])
    s_status.append(np.where(p_booked[pi], 3, 1))
    s_amount.append(np.zeros(len(pi)))

    if edges:
        c = e["only_cancelled"]
        s_client.append(np.array([c, c]))
        s_day.append(np.minimum(first[c] + np.array([30, 75]), today))
        s_kind.append(kind[[c, c], 0])
        s_status.append(np.array([1, 1]))
        s_amount.append(np.zeros(2))
        d = e["same_day"]  # grandparents add a mini session on the first session's day
        s_client.append(np.array([d]))
        s_day.append(np.array([day[d, 0]]))
        s_kind.append(np.array([1]))
        s_status.append(np.array([0]))
        s_amount.append(np.array([150.0]))

    s_client = np.concatenate(s_client)
    s_day = np.concatenate(s_day)
    order = np.lexsort((s_client, s_day))
    s_client, s_day = s_client[order], s_day[order]
    sessions = pd.DataFrame({
        "date": _dates(s_day),
        "client_id": ids[s_client],
        "package": _PKG_NAME[np.concatenate(s_kind)[order]],
        "amount": np.round(np.concatenate(s_amount)[order].astype(float), 2),
        "status": np.array(["Completed", "Cancelled", "Rescheduled", "Booked"],
                           dtype=object)[np.concatenate(s_status)[order]],
    })[SESSIONS.keys]
    s_status = sessions["status"].to_numpy()

    # --- contacts -----------------------------------------------------------------------------
    # reply rule: engaged while a client; drying up in the warning window; rare after lapse
    p_engaged = rng.beta(8.0, 2.5, n)
    lapse_rule = np.where(prospect, first + _PROSPECT_FADE, lapse)
    dries = ~wedding | prospect
    c_client, c_day, c_out = [], [], []

    def add(client, days, out):
        c_client.append(client)
        c_day.append(days)
        c_out.append(np.full(len(client), out))

    walk_in = _CHANNELS[channel] == "Walk-in"
    add(rows[~walk_in], first[~walk_in], False)  # the client got in touch
    reply_day = first + _uniform_int(rng, 0, 2, n)
    add(rows[reply_day <= today], reply_day[reply_day <= today], True)
    # check-ins every few months until a year after the client's last session
    m_checks = HISTORY_DAYS // _CHECKIN_LO + 2
    checks = first[:, None] + np.cumsum(_uniform_int(rng, _CHECKIN_LO, _CHECKIN_HI, (n, m_checks)),
                                        axis=1)
    stop = np.minimum(np.where(prospect, first + 150, lapse + _CHECKIN_AFTER_LAPSE), today)
    ki, kk = np.nonzero(checks <= stop[:, None])
    add(ki, checks[ki, kk], True)
    # after each completed session: the gallery / thank-you message
    done = np.nonzero(s_status == "Completed")[0]
    after = s_day[done] + _uniform_int(rng, 1, 10, len(done))
    ok = after <= today
    add(s_client[done][ok], after[ok], True)
    # the client writes to cancel or move a booking, and to ask about one
    calls = np.nonzero((s_status == "Cancelled") | (s_status == "Rescheduled"))[0]
    add(s_client[calls], np.maximum(s_day[calls] - _uniform_int(rng, 0, 5, len(calls)),
                                    first[s_client[calls]]), False)
    asks = np.nonzero(((s_status == "Completed") | (s_status == "Booked"))
                      & (rng.random(len(s_day)) < 0.35))[0]
    ask_day = np.maximum(s_day[asks] - _uniform_int(rng, 14, 60, len(asks)),
                         first[s_client[asks]])
    ok = ask_day <= today
    add(s_client[asks][ok], ask_day[ok], False)

    c_client = np.concatenate(c_client)
    c_day = np.concatenate(c_day)
    c_out = np.concatenate(c_out)
    order = np.lexsort((c_client, c_day))
    c_client, c_day, c_out = c_client[order], c_day[order], c_out[order]
    to_lapse = lapse_rule[c_client] - c_day
    p_reply = np.where(to_lapse < 0, _REPLY_AFTER_LAPSE, p_engaged[c_client])
    in_warn = (to_lapse >= 0) & (to_lapse <= WARNING_DAYS) & dries[c_client]
    p_reply = np.where(in_warn, p_reply * _REPLY_WARN_FACTOR, p_reply)
    replied = np.where(rng.random(len(c_day)) < p_reply, "Yes", "No").astype(object)
    replied[~c_out] = None
    pref = _choice_rows(rng, n, np.where((seg == _CORPORATE)[:, None], _MSG_CHANNEL_P_CORPORATE,
                                         _MSG_CHANNEL_P))
    msg_channel = np.where(rng.random(len(c_day)) < 0.75, pref[c_client],
                           rng.integers(0, len(_MSG_CHANNELS), len(c_day)))
    contacts = pd.DataFrame({
        "date": _dates(c_day),
        "client_id": ids[c_client],
        "channel": _MSG_CHANNELS[msg_channel],
        "direction": np.where(c_out, "Out", "In").astype(object),
        "replied": replied,
    })[CONTACTS.keys]

    clients = pd.DataFrame({
        "client_id": ids,
        "name": name,
        "segment": np.array(SEGMENTS, dtype=object)[seg],
        "first_contact": _dates(first),
        "channel": _CHANNELS[channel],
        "acquisition_cost": cost,
        "referred_by": np.where(referrer >= 0, ids[np.maximum(referrer, 0)], None),
        "notes": notes,
    })[CLIENTS.keys]
    return DemoData(clients=clients, sessions=sessions, contacts=contacts, as_of=as_of)
