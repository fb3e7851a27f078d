import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from portal.accounts.permissions import OutOfScope
from projects.images import rendition_name
from projects.models import Proposal, ProposalPhoto, Space
from tests.builders import make_campaign, make_proposal, make_space, make_user, png_upload
from votes import services
from votes.models import Entry, Idea

pytestmark = pytest.mark.django_db


def submit(campaign, author, **overrides):
    kwargs = {
        "campaign": campaign,
        "author": author,
        "title": "Лавочки и освещение",
        "description": "Во дворе темно.",
        "estimated_cost": Decimal("450000"),
    }
    kwargs.update(overrides)
    return services.idea_submit(**kwargs)


def test_resident_submits_idea_for_existing_space(campaign, resident, space, media_root):
    idea = submit(campaign, resident, space=space, photos=[png_upload()])
    proposal = idea.proposal
    assert proposal.status == Proposal.Status.SUBMITTED
    assert proposal.author == resident
    assert proposal.space == space
    assert proposal.photos.count() == 1
    assert not Proposal.objects.public().filter(pk=proposal.pk).exists()


def test_an_idea_photo_is_stored_with_its_webp_copies(campaign, resident, space, media_root):
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (40, 160, 90)).save(buffer, format="PNG")
    photo_file = SimpleUploadedFile("courtyard.png", buffer.getvalue(), content_type="image/png")

    idea = submit(campaign, resident, space=space, photos=[photo_file])

    photo = idea.proposal.photos.get()
    assert (photo.width, photo.height) == (1200, 900)
    assert photo.renditions == [[320, 240], [640, 480], [1024, 768], [1200, 900]]
    for width, height in photo.renditions:
        with Image.open(media_root / rendition_name(photo.image.name, width)) as copy:
            assert (copy.format, copy.size) == ("WEBP", (width, height))


def test_idea_for_a_new_space_creates_the_space(campaign, resident):
    new_space = {
        "name": "Сквер у школы",
        "kind": Space.Kind.PUBLIC_SPACE,
        "address": "ул. Мира, 1",
        "latitude": Decimal("56.81"),
        "longitude": Decimal("60.61"),
        "area_m2": Decimal("800"),
    }
    idea = submit(campaign, resident, new_space=new_space)
    assert idea.proposal.space.name == "Сквер у школы"
    assert idea.proposal.space.municipality == campaign.municipality


def test_idea_outside_the_collection_window_is_refused(town, resident, space):
    closed = make_campaign(town, phase="ideas_closed")
    with pytest.raises(ValidationError) as error:
        submit(closed, resident, space=space)
    assert error.value.code == "closed"
    assert not Proposal.objects.exists()


def test_idea_from_a_non_resident_is_refused(campaign, other_town, space):
    outsider = make_user("outsider@example.org", verified=True, municipality=other_town)
    with pytest.raises(ValidationError) as error:
        submit(campaign, outsider, space=space)
    assert error.value.code == "not_resident"
    assert not Proposal.objects.exists()


def test_idea_from_an_unverified_resident_is_refused(campaign, town, space):
    unverified = make_user("new@example.org", municipality=town, verified=False)
    with pytest.raises(ValidationError) as refused:
        submit(campaign, unverified, space=space)
    assert refused.value.code == "unverified"
    assert not Idea.objects.exists()


def test_bad_upload_is_refused_and_nothing_is_written(campaign, resident, space, media_root):
    fake = SimpleUploadedFile("evil.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")
    with pytest.raises(ValidationError) as refused:
        submit(campaign, resident, space=space, photos=[png_upload(), fake])
    assert refused.value.code == "invalid_image_format"
    assert not Proposal.objects.exists()
    assert not ProposalPhoto.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.jpg"))


def test_idea_form_page_refuses_bad_upload_with_a_message(client, campaign, resident, space, media_root):
    client.force_login(resident)
    url = reverse("votes:idea_new", args=[campaign.pk])
    fake = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = client.post(
        url,
        {
            "target": "existing",
            "space": space.pk,
            "title": "T",
            "description": "D",
            "estimated_cost": "100",
            "photos": [fake],
        },
    )
    assert response.status_code == 400
    assert "JPEG, PNG" in response.content.decode()
    assert not Proposal.objects.exists()


def test_idea_form_page_for_a_new_space_without_js(client, campaign, resident):
    client.force_login(resident)
    response = client.post(
        reverse("votes:idea_new", args=[campaign.pk]),
        {
            "target": "new",
            "space_name": "Сквер",
            "space_kind": "public_space",
            "space_address": "ул. Мира, 2",
            "latitude": "56.8",
            "longitude": "60.6",
            "space_area_m2": "500",
            "title": "Сквер",
            "description": "D",
            "estimated_cost": "100000",
        },
    )
    assert response.status_code == 302
    assert Idea.objects.get().proposal.space.address == "ул. Мира, 2"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("2 500 000", "2500000"), ("2\u00a0500\u00a0000 ₽", "2500000"), ("1500,50", "1500.50")],
)
def test_idea_cost_is_taken_as_people_type_amounts(client, campaign, resident, space, typed, stored):
    client.force_login(resident)
    response = client.post(
        reverse("votes:idea_new", args=[campaign.pk]),
        {"target": "existing", "space": space.pk, "title": "T", "description": "D", "estimated_cost": typed},
    )
    assert response.status_code == 302
    assert Idea.objects.get().proposal.estimated_cost == Decimal(stored)


def test_idea_cost_that_is_not_an_amount_is_a_form_error(client, campaign, resident, space):
    client.force_login(resident)
    response = client.post(
        reverse("votes:idea_new", args=[campaign.pk]),
        {"target": "existing", "space": space.pk, "title": "T", "description": "D", "estimated_cost": "2,5,0"},
    )
    assert response.status_code == 400
    assert response.context["form"].has_error("estimated_cost")
    assert not Proposal.objects.exists()


def test_idea_form_is_refused_outside_the_window(client, town, resident):
    closed = make_campaign(town, phase="ideas_closed")
    client.force_login(resident)
    response = client.get(reverse("votes:idea_new", args=[closed.pk]))
    assert response.status_code == 403


def test_approve_puts_the_entry_on_the_ballot(campaign, resident, space, official, django_capture_on_commit_callbacks):
    idea = submit(campaign, resident, space=space)
    with django_capture_on_commit_callbacks():
        entry = services.idea_approve(idea=idea, official=official)
    idea.proposal.refresh_from_db()
    assert idea.proposal.status == Proposal.Status.APPROVED
    assert idea.proposal.approved_at is not None
    assert Entry.objects.get(campaign=campaign) == entry
    assert entry.cost == Decimal("450000")
    assert entry.external_id == str(idea.proposal.pk)


def test_approving_twice_is_refused(campaign, resident, space, official):
    idea = submit(campaign, resident, space=space)
    services.idea_approve(idea=idea, official=official)
    with pytest.raises(ValidationError) as refused:
        services.idea_approve(idea=idea, official=official)
    assert refused.value.code == "moderated"
    assert Entry.objects.count() == 1


def test_reject_shows_the_reason_on_my_ideas(client, campaign, resident, space, official):
    idea = submit(campaign, resident, space=space)
    services.idea_reject(idea=idea, official=official, reason="Двор уже в программе <b>2026</b>")
    client.force_login(resident)
    page = client.get(reverse("votes:my_ideas")).content.decode()
    assert "Двор уже в программе &lt;b&gt;2026&lt;/b&gt;" in page
    assert "<b>2026</b>" not in page


def test_reject_without_a_reason_is_refused(campaign, resident, space, official):
    idea = submit(campaign, resident, space=space)
    with pytest.raises(ValidationError) as refused:
        services.idea_reject(idea=idea, official=official, reason="  ")
    assert refused.value.code == "reason"
    idea.proposal.refresh_from_db()
    assert idea.proposal.status == Proposal.Status.SUBMITTED


def test_merge_into_a_proposal_of_the_same_municipality(campaign, resident, space, official):
    target = make_proposal(space, title="Площадка")
    idea = submit(campaign, resident, space=space)
    services.idea_merge(idea=idea, into=target, official=official)
    idea.proposal.refresh_from_db()
    assert idea.proposal.status == Proposal.Status.MERGED
    assert idea.proposal.merged_into == target


def test_merge_into_another_municipality_is_refused(campaign, resident, space, official, other_town):
    foreign = make_proposal(make_space(other_town, name="Чужой двор"))
    idea = submit(campaign, resident, space=space)
    with pytest.raises(ValidationError) as refused:
        services.idea_merge(idea=idea, into=foreign, official=official)
    assert refused.value.code == "other_municipality"


def test_official_of_another_municipality_cannot_moderate(campaign, resident, space, other_official):
    idea = submit(campaign, resident, space=space)
    with pytest.raises(OutOfScope) as refused:
        services.idea_approve(idea=idea, official=other_official)
    assert refused.value.code == "out_of_scope"
    with pytest.raises(OutOfScope) as refused:
        services.idea_reject(idea=idea, official=other_official, reason="no")
    assert refused.value.code == "out_of_scope"
    assert not Entry.objects.exists()


def test_admin_out_of_scope_idea_is_404(client, campaign, resident, space, other_official):
    idea = submit(campaign, resident, space=space)
    client.force_login(other_official)
    assert client.get(reverse("admin:votes_idea_change", args=[idea.pk])).status_code == 404
    response = client.post(
        reverse("admin:votes_idea_changelist"), {"action": "approve_ideas", "_selected_action": [idea.pk]}
    )
    assert response.status_code == 404
    assert not Entry.objects.exists()


def test_admin_approve_action(client, campaign, resident, space, official):
    idea = submit(campaign, resident, space=space)
    client.force_login(official)
    assert client.get(reverse("admin:votes_idea_changelist") + "?state=submitted").status_code == 200
    client.post(reverse("admin:votes_idea_changelist"), {"action": "approve_ideas", "_selected_action": [idea.pk]})
    assert Entry.objects.filter(campaign=campaign, proposal=idea.proposal).exists()


def test_admin_reject_action_asks_for_a_reason_first(client, campaign, resident, space, official):
    idea = submit(campaign, resident, space=space)
    client.force_login(official)
    url = reverse("admin:votes_idea_changelist")
    page = client.post(url, {"action": "reject_ideas", "_selected_action": [idea.pk]})
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()
    idea.proposal.refresh_from_db()
    assert idea.proposal.status == Proposal.Status.SUBMITTED
    client.post(url, {"action": "reject_ideas", "_selected_action": [idea.pk], "confirm": "1", "reason": "Дубль"})
    idea.proposal.refresh_from_db()
    assert idea.proposal.status == Proposal.Status.REJECTED
    assert idea.proposal.rejection_reason == "Дубль"


def test_admin_merge_action_offers_only_same_municipality_targets(
    client, campaign, resident, space, official, other_town
):
    target = make_proposal(space, title="Площадка-цель")
    foreign = make_proposal(make_space(other_town, name="Чужой двор"), title="Чужая площадка")
    idea = submit(campaign, resident, space=space)
    client.force_login(official)
    url = reverse("admin:votes_idea_changelist")
    page = client.post(url, {"action": "merge_ideas", "_selected_action": [idea.pk]}).content.decode()
    assert "Площадка-цель" in page
    assert "Чужая площадка" not in page
    client.post(url, {"action": "merge_ideas", "_selected_action": [idea.pk], "confirm": "1", "into": foreign.pk})
    idea.proposal.refresh_from_db()
    assert idea.proposal.status == Proposal.Status.SUBMITTED
    client.post(url, {"action": "merge_ideas", "_selected_action": [idea.pk], "confirm": "1", "into": target.pk})
    idea.proposal.refresh_from_db()
    assert idea.proposal.merged_into == target
