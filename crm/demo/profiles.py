"""The knobs of the demo data: who sells, where customers come from, what they buy, when
things happen. Named constants only, so a reader can see why a dashboard shows what it shows
(docs/demo-data.md explains each curve)."""

from __future__ import annotations

from dataclasses import dataclass


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class ScaleSpec:
    contacts: int
    agents: int
    campaigns: int
    # Agents that left during the year (is_active_agent False): the ranking must skip them.
    inactive_agents: int
    # Contacts per generated chunk: one chunk is generated, loaded and forgotten at a time,
    # so memory stays flat whatever the scale.
    chunk_contacts: int


# About 0.95 leads per contact and 10 activities per lead (docs/demo-data.md has the measured
# counts). medium and large are BENCHMARKS.md's sizes S and M.
SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(contacts=420, agents=8, campaigns=10, inactive_agents=0, chunk_contacts=500),
    "medium": ScaleSpec(contacts=110_000, agents=50, campaigns=30, inactive_agents=1, chunk_contacts=1000),
    "large": ScaleSpec(contacts=1_100_000, agents=1000, campaigns=60, inactive_agents=2, chunk_contacts=1000),
}

HISTORY_MONTHS = 13
# The anomalous day (a payment outage: inbound chats and calls spike) is this many local days
# before the local date of as_of (crm.demo.generator.anomaly_day).
ANOMALY_DAYS_BEFORE = 40
# Chance that a contact who exists on the anomalous day writes in about it, and calls.
ANOMALY_CHAT_PROBABILITY = 0.06
ANOMALY_CALL_PROBABILITY = 0.03


# --- agents ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentArchetype:
    label: str
    # Multiplies the chance of each funnel step after contact (sqrt per step, so the overall
    # conversion is multiplied by about this factor).
    conversion: float
    # Median hours from assignment to first contact (log-normal, sigma RESPONSE_SIGMA).
    response_hours: float
    satisfaction_mean: float
    # Relative share of incoming leads the router gives the agent.
    capacity: float


AGENT_ARCHETYPES: tuple[AgentArchetype, ...] = (
    AgentArchetype("star", conversion=1.40, response_hours=0.6, satisfaction_mean=4.7, capacity=1.3),
    AgentArchetype("solid", conversion=1.05, response_hours=2.0, satisfaction_mean=4.2, capacity=1.0),
    AgentArchetype("steady", conversion=0.95, response_hours=3.5, satisfaction_mean=4.0, capacity=1.0),
    AgentArchetype("fast-talker", conversion=1.15, response_hours=1.0, satisfaction_mean=3.6, capacity=1.2),
    AgentArchetype("developing", conversion=0.75, response_hours=6.0, satisfaction_mean=3.8, capacity=0.8),
    AgentArchetype("careful", conversion=1.20, response_hours=8.0, satisfaction_mean=4.5, capacity=0.7),
    AgentArchetype("struggling", conversion=0.55, response_hours=12.0, satisfaction_mean=3.3, capacity=0.8),
    AgentArchetype("good", conversion=1.10, response_hours=1.5, satisfaction_mean=4.3, capacity=1.1),
)
RESPONSE_SIGMA = 0.8
TEAMS = ("Nairobi Sales", "Coast & Upcountry", "International", "Key Accounts")
AGENT_FIRST_NAMES = _names(
    "Grace Brian Faith Kevin Mercy Dennis Joy Collins Purity Victor Sharon Ian Lucy Samuel "
    "Esther Oliver Amelia Noah Priya Arjun Chioma Tunde Thandi Sipho Amina Hassan Zawadi Baraka "
    "Emily James"
)
AGENT_LAST_NAMES = _names(
    "Wanjiru Otieno Kamau Achieng Mwangi Njeri Kiprop Mutua Omondi Wafula Chebet Karanja Smith "
    "Jones Taylor Brown Patel Sharma Okafor Adeyemi Nkosi Dlamini Said Mohamed Kariuki Ndegwa "
    "Langat Owino Walker Reed Nyambura Gitau Rotich Barasa Onyango Kilonzo Muthoni Macharia "
    "Ruto Koech"
)


# --- where customers come from -------------------------------------------------------------
@dataclass(frozen=True)
class Country:
    code: str
    calling_code: str
    weight: float
    # National significant number = one prefix + random digits up to nsn_length; the prefixes
    # are mobile ranges phonenumbers.is_valid_number accepts (tests check a large sample).
    prefixes: tuple[str, ...]
    nsn_length: int
    regions: tuple[tuple[str, float], ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


_KE_FIRST = _names(
    "Wanjiku Otieno Akinyi Kamau Njeri Kiprono Atieno Mwangi Chebet Wambui Omondi Nekesa Mutua "
    "Wairimu Kibet Moraa Juma Halima"
)
_KE_LAST = _names(
    "Wanjiru Odhiambo Kariuki Mutiso Ochieng Kiptoo Njoroge Wekesa Nyaga Maina Owuor Cheruiyot "
    "Mbugua Ali Hassan Kilonzo"
)
_EN_FIRST = _names(
    "Oliver Amelia Harry Isla George Ava Jack Mia Noah Emily Liam Olivia Ethan Sophia Mason Chloe"
)
_EN_LAST = _names(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Miller Clarke Evans Moore Garcia Martin"
)

COUNTRIES: tuple[Country, ...] = (
    Country(
        "KE",
        "254",
        0.58,
        ("70", "71", "72", "74", "75", "76", "77", "78", "79", "11"),
        9,
        (("Nairobi", 0.55), ("Mombasa", 0.15), ("Kisumu", 0.1), ("Nakuru", 0.1), ("Eldoret", 0.1)),
        _KE_FIRST,
        _KE_LAST,
    ),
    Country(
        "GB",
        "44",
        0.09,
        ("7400", "7500", "7800", "7900", "7412"),
        10,
        (("London", 0.6), ("Manchester", 0.25), ("Birmingham", 0.15)),
        _EN_FIRST,
        _EN_LAST,
    ),
    Country(
        "US",
        "1",
        0.07,
        ("212", "415", "646", "312", "617", "305", "206"),
        10,
        (("New York", 0.45), ("San Francisco", 0.2), ("Chicago", 0.2), ("Boston", 0.15)),
        _EN_FIRST,
        _EN_LAST,
    ),
    Country(
        "NG",
        "234",
        0.08,
        ("803", "806", "813", "816", "703", "706", "810", "805"),
        10,
        (("Lagos", 0.65), ("Abuja", 0.35)),
        _names("Chinedu Ngozi Tunde Aisha Emeka Funke Ibrahim Yetunde"),
        _names("Okafor Adeyemi Bello Eze Ogunleye Nwosu Abubakar"),
    ),
    Country(
        "IN",
        "91",
        0.06,
        ("98", "99", "97", "90", "70", "88"),
        10,
        (("Mumbai", 0.45), ("Bengaluru", 0.35), ("Delhi", 0.2)),
        _names("Priya Arjun Ananya Rahul Kavya Vikram Sneha Rohan"),
        _names("Patel Sharma Iyer Reddy Gupta Nair Singh"),
    ),
    Country(
        "ZA",
        "27",
        0.05,
        ("82", "83", "84", "72", "73", "71", "76", "79"),
        9,
        (("Johannesburg", 0.6), ("Cape Town", 0.4)),
        _names("Thandi Sipho Lerato Thabo Naledi Pieter Zanele"),
        ("Nkosi", "Dlamini", "Mokoena", "van der Merwe", "Botha", "Khumalo"),
    ),
    Country(
        "UG",
        "256",
        0.04,
        ("77", "78", "70", "75", "74", "76"),
        9,
        (("Kampala", 1.0),),
        _names("Okello Nakato Mugisha Namubiru Ssemakula Apio"),
        _names("Kato Namutebi Ouma Byaruhanga Tumusiime"),
    ),
    Country(
        "TZ",
        "255",
        0.03,
        ("71", "74", "75", "76", "78", "65", "68"),
        9,
        (("Dar es Salaam", 0.7), ("Arusha", 0.3)),
        _names("Baraka Zawadi Neema Juma Rehema Salim"),
        _names("Mushi Mollel Said Massawe"),
    ),
)
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "example.com", "example.org")


@dataclass(frozen=True)
class Source:
    name: str
    weight: float
    # Mean buying intent of its leads (0-1). Intent drives every funnel step and the lead
    # score, so score correlates with conversion and sources differ in quality.
    intent: float
    # Where its touchpoint comes from (attribution).
    touch_channel: str
    # Share of Starter / Pro / Enterprise interest.
    product_mix: tuple[float, float, float]


SOURCES: tuple[Source, ...] = (
    Source("Referrals", 0.14, 0.75, "referral", (0.35, 0.5, 0.15)),
    Source("Partners", 0.06, 0.66, "partner", (0.3, 0.5, 0.2)),
    Source("Events", 0.09, 0.52, "event", (0.4, 0.45, 0.15)),
    Source("Web Forms", 0.26, 0.45, "web", (0.6, 0.34, 0.06)),
    Source("Social Media", 0.13, 0.34, "social", (0.7, 0.27, 0.03)),
    Source("Paid Ads", 0.20, 0.20, "paid_ads", (0.7, 0.27, 0.03)),
    Source("Cold Outreach", 0.12, 0.16, "outbound", (0.45, 0.4, 0.15)),
)
# Spread of a lead's intent around its source's mean.
INTENT_SIGMA = 0.12
# A lead that follows a reply to a campaign message is tagged with this source instead.
CAMPAIGN_SOURCE = Source("Campaigns", 0.0, 0.48, "campaign", (0.5, 0.4, 0.1))
# Chance that a contact's first lead comes right after their first campaign reply.
CAMPAIGN_LEAD_PROBABILITY = 0.35


# --- what they buy (amounts in USD, multiplied by CURRENCY_FACTOR) -------------------------
@dataclass(frozen=True)
class ProductLine:
    name: str
    # Monthly price per seat and the seat range of a subscription.
    monthly_price: float
    seats: tuple[int, int]
    # Share of customers on a monthly plan (the rest pay annually: a renewal 12 months later).
    monthly_share: float
    one_time_fee: float


PRODUCT_LINES: tuple[ProductLine, ...] = (
    ProductLine("Starter", monthly_price=29.0, seats=(1, 3), monthly_share=0.9, one_time_fee=0.0),
    ProductLine("Pro", monthly_price=99.0, seats=(2, 10), monthly_share=0.7, one_time_fee=450.0),
    ProductLine("Enterprise", monthly_price=45.0, seats=(15, 80), monthly_share=0.0, one_time_fee=4500.0),
)
ADD_ONS_LINE = "Add-ons"
ADD_ON_PRICES = (120.0, 240.0, 600.0)
# Annual plans pay 10 months for 12.
ANNUAL_MONTHS_BILLED = 10
MONTHLY_CHURN = 0.03
ENGAGED_MONTHLY_CHURN = 0.008
# Deals follow engagement (the opportunity model learns from it): this share of upsell,
# cross-sell and expansion sales is preceded by a meeting with the account owner this many
# days before.
PRE_SALE_MEETING_SHARE = 0.7
PRE_SALE_MEETING_DAYS = (7.0, 28.0)
# Win-back: this share of churned customers writes in again this many days after the missed
# payment, and this share of those subscribes again this many days after writing.
WIN_BACK_ASK_SHARE = 0.3
WIN_BACK_ASK_DAYS = (20.0, 150.0)
WIN_BACK_RETURN_SHARE = 0.6
WIN_BACK_RETURN_DAYS = (7.0, 40.0)
# Approximate units of each currency per US dollar, so amounts look natural in the org's.
CURRENCY_FACTOR: dict[str, float] = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "KES": 129.0,
    "NGN": 1500.0,
    "INR": 83.0,
    "ZAR": 18.0,
    "UGX": 3700.0,
    "TZS": 2600.0,
}

# --- contacts ----------------------------------------------------------------------------
# Share of contacts that existed before the window (the audience the year starts with).
PRE_WINDOW_CONTACT_SHARE = 0.3
# Of those, customers converted before the window: their subscriptions make the first months
# of the history already have recurring revenue and renewals.
LEGACY_CUSTOMER_SHARE = 0.25
# Customers whose responsiveness (log-normal, sigma 0.5, drawn per contact) is above this buy
# again, reply, chat and call a lot (VIP tag, upsell candidates): about the top 17%.
ENGAGED_RESPONSIVENESS = 1.6
SEGMENTS_BY_PRODUCT = {"Starter": "SMB", "Pro": "Mid-Market", "Enterprise": "Enterprise"}

# --- funnel timing (hours, log-normal medians) ------------------------------------------
ASSIGN_MEDIAN_HOURS = 0.4
INTEREST_MEDIAN_HOURS = 72.0
CONVERT_MEDIAN_HOURS = 24.0 * 9
LOSE_MEDIAN_HOURS = 24.0 * 12
# Share of open (not converted, not lost) leads that go cold after the last touch: no
# activity for weeks while still open ("missed opportunities", "conversion risk").
COLD_SHARE = 0.2
# Chance a converted lead leaves a satisfaction rating.
RATING_PROBABILITY = 0.75


# --- calendars -----------------------------------------------------------------------------
# Monday first. Weekends are quiet for the sales floor.
WEEKDAY_WEIGHTS = (1.0, 1.08, 1.05, 1.0, 0.9, 0.35, 0.18)
# Local hour of day 0-23 for sales-floor activity (calls, e-mails, meetings, lead routing).
BUSINESS_HOUR_WEIGHTS = (
    # hours 0-11
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.1,
    0.4,
    1.2,
    2.2,
    2.6,
    2.4,
    # hours 12-23
    1.6,
    1.4,
    2.2,
    2.4,
    2.0,
    1.3,
    0.5,
    0.2,
    0.1,
    0.0,
    0.0,
    0.0,
)
# Local hour of lead creation: web forms and ads also arrive in the evening.
LEAD_HOUR_WEIGHTS = (
    # hours 0-11
    0.1,
    0.05,
    0.05,
    0.05,
    0.05,
    0.1,
    0.3,
    0.7,
    1.2,
    1.6,
    1.8,
    1.8,
    # hours 12-23
    1.5,
    1.5,
    1.7,
    1.7,
    1.5,
    1.3,
    1.2,
    1.2,
    1.1,
    0.8,
    0.5,
    0.2,
)
# Local hour at which customers start chats: about 60% between 18:00 and 21:59 (seed 004).
CHAT_HOUR_WEIGHTS = (
    # hours 0-11
    0.1,
    0.05,
    0.02,
    0.02,
    0.02,
    0.05,
    0.2,
    0.4,
    0.7,
    0.9,
    1.0,
    1.0,
    # hours 12-23
    1.1,
    1.0,
    0.9,
    0.9,
    1.0,
    1.5,
    5.5,
    7.5,
    7.5,
    5.5,
    1.2,
    0.4,
)
# Support shift: agents answer chats between these local hours.
CHAT_SHIFT_HOURS = (8, 22)
# Calendar-month factor on new leads: quiet December, busy January and September.
MONTH_FACTORS = (1.15, 1.05, 1.05, 1.0, 1.0, 0.95, 0.9, 0.95, 1.12, 1.05, 1.0, 0.75)
# New leads per day grow by this factor over the 13 months (growth velocity).
GROWTH_OVER_WINDOW = 1.8


# --- campaigns -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignChannel:
    name: str
    weight: float
    delivery: float
    read: float
    reply: float
    cost_per_message: float  # USD


CAMPAIGN_CHANNELS: tuple[CampaignChannel, ...] = (
    CampaignChannel("whatsapp", 0.5, delivery=0.96, read=0.7, reply=0.16, cost_per_message=0.03),
    CampaignChannel("sms", 0.3, delivery=0.93, read=0.5, reply=0.06, cost_per_message=0.02),
    CampaignChannel("email", 0.2, delivery=0.97, read=0.3, reply=0.04, cost_per_message=0.002),
)
CAMPAIGN_THEMES = (
    "New Year Kick-off",
    "Valentine's Offer",
    "Q1 Upgrade Drive",
    "Easter Promo",
    "Pro Launch",
    "Mid-Year Sale",
    "Summer Sale",
    "Back to School",
    "Customer Appreciation",
    "Webinar Invite",
    "Black Friday",
    "Festive Season",
    "Win-back",
    "Renewal Reminder",
    "Referral Rewards",
)
# Every fifth campaign is a paid-ads one: spend and touchpoints, no messages.
ADS_CAMPAIGN_EVERY = 5
# How many days before the last generated day the newest campaign starts (inclusive range).
LAST_CAMPAIGN_DAYS_AGO = (6, 20)
ADS_BUDGET_USD = (800.0, 5000.0)
# Campaign messages per contact over the whole history (BENCHMARKS.md: 500k at size S).
CAMPAIGN_MESSAGES_PER_CONTACT = 5.0
# The winning variant of each campaign gets this factor on reads and on replies.
VARIANT_READ_LIFT = 1.2
VARIANT_REPLY_LIFT = 2.0
# Local hours campaigns are sent in, and the factor on read and reply chances by send hour:
# evening sends (the chat peak) are read most; the best hour to send is BEST_SEND_HOUR.
SEND_HOURS = tuple(range(8, 22))
BEST_SEND_HOUR = 19
SEND_HOUR_FACTORS = {
    8: 0.75,
    9: 0.8,
    10: 0.85,
    11: 0.8,
    12: 0.85,
    13: 0.8,
    14: 0.75,
    15: 0.75,
    16: 0.8,
    17: 0.9,
    18: 1.1,
    19: 1.3,
    20: 1.15,
    21: 0.95,
}

# --- chat --------------------------------------------------------------------------------
CHAT_CONVERSATIONS = {"customer": 1.6, "engaged": 4.0, "lead": 0.8, "audience": 0.25}
CHAT_TOPICS = (
    (
        "pricing",
        "Hi, how much is the {product} plan per month?",
        "The {product} plan is {price} per seat per month. Shall I send a quote?",
    ),
    (
        "invoice",
        "I have not received my invoice for this month.",
        "Sorry about that, I have re-sent it to your e-mail.",
    ),
    (
        "upgrade",
        "Can we add more seats to our {product} plan?",
        "Yes! I can upgrade you today, how many seats do you need?",
    ),
    (
        "delivery",
        "When will my onboarding session be scheduled?",
        "Our team will call you tomorrow morning to book it.",
    ),
    (
        "support",
        "The dashboard is not loading for me.",
        "Thanks for reporting, please try again now, we fixed it.",
    ),
    ("demo", "Can I get a demo of the product?", "Of course, I have booked a demo for Thursday at 10:00."),
    ("discount", "Is there any discount for annual payment?", "Annual plans get two months free."),
)
ANOMALY_TOPIC = (
    "payment",
    "My M-Pesa payment failed but money was deducted!",
    "We are aware of a payment outage and are fixing it, your account is safe.",
)
