"""A won lead's account: its sales month by month (new, one_time, recurring or renewal,
upsell, cross_sell, expansion) and the care around them, until churn or as_of.

Monthly plans bill on the conversion's day of the month (the 28th at most) at 06:00 local:
those are the recurring sales behind MRR. Annual plans pay ANNUAL_MONTHS_BILLED months up
front and renew, or churn, every twelve months. Engaged customers buy add-ons, upgrade,
call and write more, and churn less.
"""

from __future__ import annotations

from crm.demo import profiles
from crm.demo.agents import AgentSkill
from crm.demo.records import ContactState, LeadState, RecordWriter, add_months
from crm.demo.timeline import DAY, HOUR

# Chance of churning at a renewal, on top of the monthly churn check.
RENEWAL_CHURN = 0.15


class AccountSteps(RecordWriter):
    def customer(self, person: ContactState, lead: LeadState, agent: AgentSkill, converted: float) -> None:
        rng, tl, end = self.rng, self.tl, self.end
        product, seats = lead.product, lead.seats
        engaged = person.engaged
        monthly_plan = rng.random() < product.monthly_share
        monthly = product.monthly_price * seats
        first_amount = monthly if monthly_plan else monthly * profiles.ANNUAL_MONTHS_BILLED
        self.sale(person, lead, agent, "new", converted, first_amount, product.name)
        if product.one_time_fee and rng.random() < (0.9 if product.name == "Enterprise" else 0.5):
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
        month = 1
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
                person.churned = True
                break
            if monthly_plan:
                self.sale(person, lead, agent, "recurring", bill, monthly, current.name)
            elif renewal_due:
                if rng.random() < RENEWAL_CHURN:
                    person.churned = True
                    break
                amount = monthly * profiles.ANNUAL_MONTHS_BILLED * rng.uniform(1.0, 1.08)
                self.sale(person, lead, agent, "renewal", bill, amount, current.name)
            if month == upsell_month:
                t = tl.workday_time(bill + rng.uniform(2, 20) * DAY, rng)
                if current.name == "Starter":
                    upgraded = profiles.PRODUCT_LINES[1]
                    new_monthly = upgraded.monthly_price * max(seats, upgraded.seats[0])
                    current = upgraded
                else:
                    new_monthly = monthly * rng.uniform(1.2, 1.6)
                self.sale(person, lead, agent, "upsell", t, new_monthly - monthly, current.name)
                monthly = new_monthly
            if month == cross_sell_month:
                t = tl.workday_time(bill + rng.uniform(2, 25) * DAY, rng)
                price = rng.choice(profiles.ADD_ON_PRICES)
                self.sale(person, lead, agent, "cross_sell", t, price, profiles.ADD_ONS_LINE)
            if month == expansion_month:
                t = tl.workday_time(bill + rng.uniform(2, 25) * DAY, rng)
                extra_seats = rng.randint(5, 30)
                amount = extra_seats * current.monthly_price * 6  # the rest of the contract year
                self.sale(person, lead, agent, "expansion", t, amount, current.name)
            if engaged and rng.random() < 0.25:
                t = tl.workday_time(bill + rng.uniform(1, 28) * DAY, rng)
                price = rng.choice(profiles.ADD_ON_PRICES)
                self.sale(person, lead, agent, "one_time", t, price, profiles.ADD_ONS_LINE)
            self.account_care(lead, owner, bill, engaged=engaged)
            month += 1
        person.plan = current.name

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
