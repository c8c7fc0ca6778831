"""A won lead's account: its sales month by month (new, one_time, recurring or renewal,
upsell, cross_sell, expansion) and the care around them, until churn or as_of.

Monthly plans bill on the conversion's day of the month (the 28th at most) at 06:00 local:
those are the recurring sales behind MRR. Annual plans pay ANNUAL_MONTHS_BILLED months up
front and renew, or churn, every twelve months. Engaged customers buy add-ons, upgrade,
call and write more, and churn less.

Deals follow engagement: most upsell, cross-sell and expansion sales are preceded by a meeting
with the account owner, and some churned customers write in again and come back (win-back).
Those two behaviours draw from random streams of their own (`side_rng`), so adding them left
every other record as it was (only the sequential ids after an added record moved).
"""

from __future__ import annotations

import random

from crm.demo import profiles
from crm.demo.agents import AgentSkill
from crm.demo.records import ContactState, LeadState, RecordWriter, add_months
from crm.demo.timeline import DAY, HOUR

# Chance of churning at a renewal, on top of the monthly churn check.
RENEWAL_CHURN = 0.15


class AccountSteps(RecordWriter):
    def customer(
        self,
        person: ContactState,
        lead: LeadState,
        agent: AgentSkill,
        converted: float,
        *,
        returning: bool = False,
    ) -> None:
        rng, tl, end = self.rng, self.tl, self.end
        product, seats = lead.product, lead.seats
        engaged = person.engaged
        monthly_plan = rng.random() < product.monthly_share
        monthly = product.monthly_price * seats
        first_amount = monthly if monthly_plan else monthly * profiles.ANNUAL_MONTHS_BILLED
        self.sale(person, lead, agent, "new", converted, first_amount, product.name, seats=seats)
        if (
            not returning
            and product.one_time_fee
            and rng.random() < (0.9 if product.name == "Enterprise" else 0.5)
        ):
            t = self.later(converted, rng.uniform(1, 7) * DAY)
            fee = product.one_time_fee * rng.uniform(0.9, 1.1)
            self.sale(person, lead, agent, "one_time", t, fee, product.name)
        t = self.later(converted, rng.uniform(1, 3) * DAY)
        self.call(lead, self.owner(lead, agent, t).email, t, reached=True, title="Onboarding call")

        billing_date = tl.date_of(tl.day_of(converted))
        churn = profiles.ENGAGED_MONTHLY_CHURN if engaged else profiles.MONTHLY_CHURN
        upsell_month = rng.randint(2, 6) if rng.random() < (0.5 if engaged else 0.08) else None
        cross_sell_month = rng.randint(1, 9) if rng.random() < (0.4 if engaged else 0.05) else None
        expansion_month = rng.randint(3, 10) if product.name == "Enterprise" and rng.random() < 0.3 else None
        current = product
        # Seats of the current plan: the quantity of its sales (no random draw).
        plan_seats = seats
        month = 1
        churned_at = None
        while True:
            day = tl.day_of_date(add_months(billing_date, month))
            if day > tl.last:
                break
            bill = tl.day_start[day] + 6 * HOUR + rng.uniform(0, 1800)
            if bill >= end:
                break
            owner = self.owner(lead, agent, bill).email
            renewal_due = month % 12 == 0
            # Legacy customers are all still there when the window opens.
            if bill >= self.start and rng.random() < churn and (monthly_plan or renewal_due):
                person.churned, churned_at = True, bill
                break
            if monthly_plan:
                self.sale(person, lead, agent, "recurring", bill, monthly, current.name, seats=plan_seats)
            elif renewal_due:
                if rng.random() < RENEWAL_CHURN:
                    person.churned, churned_at = True, bill
                    break
                amount = monthly * profiles.ANNUAL_MONTHS_BILLED * rng.uniform(1.0, 1.08)
                self.sale(person, lead, agent, "renewal", bill, amount, current.name, seats=plan_seats)
            if month == upsell_month:
                t = tl.workday_time(bill + rng.uniform(2, 20) * DAY, rng)
                if current.name == "Starter":
                    upgraded = profiles.PRODUCT_LINES[1]
                    plan_seats = max(seats, upgraded.seats[0])
                    new_monthly = upgraded.monthly_price * plan_seats
                    current = upgraded
                else:
                    new_monthly = monthly * rng.uniform(1.2, 1.6)
                self.pre_sale_meeting(lead, agent, t, month, "Upgrade discussion")
                self.sale(person, lead, agent, "upsell", t, new_monthly - monthly, current.name)
                monthly = new_monthly
            if month == cross_sell_month:
                t = tl.workday_time(bill + rng.uniform(2, 25) * DAY, rng)
                price = rng.choice(profiles.ADD_ON_PRICES)
                self.pre_sale_meeting(lead, agent, t, month, "Add-ons demo")
                self.sale(person, lead, agent, "cross_sell", t, price, profiles.ADD_ONS_LINE)
            if month == expansion_month:
                t = tl.workday_time(bill + rng.uniform(2, 25) * DAY, rng)
                extra_seats = rng.randint(5, 30)
                amount = extra_seats * current.monthly_price * 6  # the rest of the contract year
                self.pre_sale_meeting(lead, agent, t, month, "Seat expansion review")
                self.sale(person, lead, agent, "expansion", t, amount, current.name, seats=extra_seats)
            if engaged and rng.random() < 0.25:
                t = tl.workday_time(bill + rng.uniform(1, 28) * DAY, rng)
                price = rng.choice(profiles.ADD_ON_PRICES)
                self.sale(person, lead, agent, "one_time", t, price, profiles.ADD_ONS_LINE)
            self.account_care(lead, owner, bill, engaged=engaged)
            month += 1
        person.plan = current.name
        if churned_at is not None and not returning:
            self.win_back(person, lead, agent, churned_at)

    def side_rng(self, purpose: str, lead: LeadState, month: int) -> random.Random:
        """A random stream of its own for one added behaviour of one lead."""
        return random.Random(f"crm-demo:{self.gen.config.seed}:{purpose}:{lead.number}:{month}")

    def pre_sale_meeting(
        self, lead: LeadState, agent: AgentSkill, sale_at: float, month: int, title: str
    ) -> None:
        """Most upsells, cross-sells and expansions follow a meeting a week to four weeks
        before (at least 7 days: workday_time may move an instant up to 6 days)."""
        rng = self.side_rng("pre-sale", lead, month)
        if rng.random() >= profiles.PRE_SALE_MEETING_SHARE:
            return
        t = self.tl.workday_time(sale_at - rng.uniform(*profiles.PRE_SALE_MEETING_DAYS) * DAY, rng)
        if t < sale_at:
            self.activity(
                lead,
                self.owner(lead, agent, t).email,
                "meeting",
                t,
                direction="outbound",
                channel=rng.choice(("video", "in_person")),
                duration=rng.choice((1800, 2700)),
                outcome="held",
                title=title,
            )

    def win_back(self, person: ContactState, lead: LeadState, agent: AgentSkill, churned_at: float) -> None:
        """Some churned customers write in again; most of those come back (a new subscription)."""
        rng = self.side_rng("win-back", lead, 0)
        if rng.random() >= profiles.WIN_BACK_ASK_SHARE:
            return
        asked = self.tl.workday_time(churned_at + rng.uniform(*profiles.WIN_BACK_ASK_DAYS) * DAY, rng)
        if asked >= self.end:
            return
        self.activity(
            lead,
            self.owner(lead, agent, asked).email,
            "message",
            asked,
            direction="inbound",
            channel="whatsapp",
            title="Asked about coming back",
        )
        if rng.random() >= profiles.WIN_BACK_RETURN_SHARE:
            return
        back = self.tl.workday_time(asked + rng.uniform(*profiles.WIN_BACK_RETURN_DAYS) * DAY, rng)
        if not asked < back < self.end:
            return
        # The new subscription draws from the side stream too (the main one stays as it was).
        main, self.rng = self.rng, rng
        try:
            person.churned = False
            self.customer(person, lead, agent, back, returning=True)
        finally:
            self.rng = main

    def account_care(self, lead: LeadState, owner: str, bill: float, *, engaged: bool) -> None:
        """One month of check-ins by the owner and requests and support calls from the customer."""
        rng, tl = self.rng, self.tl
        if rng.random() < (0.9 if engaged else 0.3):
            t = tl.workday_time(bill + rng.uniform(1, 28) * DAY, rng)
            if rng.random() < 0.5:
                self.call(lead, owner, t, reached=True, title="Account check-in")
            else:
                self.activity(
                    lead, owner, "email", t, direction="outbound", channel="email", title="Account check-in"
                )
        if engaged and rng.random() < 0.5:
            t = tl.workday_time(bill + rng.uniform(1, 28) * DAY, rng)
            kind = rng.choice(("email", "message"))
            channel = "email" if kind == "email" else "whatsapp"
            self.activity(
                lead, owner, kind, t, direction="inbound", channel=channel, title="Customer request"
            )
        if rng.random() < (0.35 if engaged else 0.12):
            t = tl.workday_time(bill + rng.uniform(1, 28) * DAY, rng)
            self.call(lead, owner, t, direction="inbound", reached=True, title="Support call")
