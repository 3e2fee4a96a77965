from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from core.mfa import totp_enroll
from core.models import Issuer, IssuerMembership, Role, User

TEST_PASSWORD = "correct-horse-battery-9"
TEST_TOTP_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def verified(user: User, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        if create:
            user.save()

    @factory.post_generation
    def mfa(user: User, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted:
            totp_enroll(actor=None, user=user, secret=TEST_TOTP_SECRET)


class IssuerFactory(factory.django.DjangoModelFactory[Issuer]):
    class Meta:
        model = Issuer

    name = factory.Sequence(lambda n: f"Issuer {n} Holdings")
    slug = factory.Sequence(lambda n: f"issuer-{n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} LLC")
    jurisdiction = "Delaware"
    country = "US"


class MembershipFactory(factory.django.DjangoModelFactory[IssuerMembership]):
    class Meta:
        model = IssuerMembership

    user = factory.SubFactory(UserFactory, mfa=True)
    issuer = factory.SubFactory(IssuerFactory)
    role = Role.ISSUER_ADMIN
