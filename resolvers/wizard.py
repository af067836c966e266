"""wizardQuestions: the questions for a selection path, with the micro service's UUID."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from context import Info
from domain.catalogue import Question, StepSpec
from domain.errors import BadUserInputError
from loaders.errors import LookupUnavailableError, MicroServiceNotFoundError


@dataclass(frozen=True, slots=True)
class WizardPage:
    slug: str
    micro_uuid: UUID | None
    name: str
    description: str
    questions: tuple[Question, ...]
    steps: tuple[StepSpec, ...]
    degraded: bool


async def wizard_questions(info: Info, categories: list[str]) -> WizardPage:
    if not categories:
        raise BadUserInputError(
            "'categories' must end with a micro service slug, e.g. "
            '["painting", "interior", "wall-painting"].'
        )
    slug = categories[-1]
    spec = info.context.app.catalogue.micro_service(slug)
    if spec is None:
        raise MicroServiceNotFoundError(slug)
    expected = [spec.category, spec.subcategory][: len(categories) - 1]
    if len(categories) > 3 or categories[:-1] != expected:
        raise BadUserInputError(
            f"'{slug}' is found at {[spec.category, spec.subcategory, slug]}, not at {categories}."
        )
    try:
        record = await info.context.loaders.micro_services.load(slug)
        degraded = False
    except LookupUnavailableError:
        # The questions come from the catalogue file, so the wizard goes on without the UUID.
        record, degraded = None, True
        info.context.cacheable = False  # keep no copy of an answer without the UUID
    return WizardPage(
        slug=slug,
        micro_uuid=None if record is None else record.id,
        name=spec.name,
        description=spec.description,
        questions=spec.questions,
        steps=spec.steps,
        degraded=degraded,
    )
