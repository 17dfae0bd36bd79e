"""The public API is curated: this list changes only on purpose."""

import cloudtwin

EXPECTED = [
    "Architecture",
    "CloudtwinError",
    "InvariantViolation",
    "Issue",
    "Results",
    "RunRefused",
    "Simulation",
    "SpecError",
    "__version__",
    "from_dict",
    "load_spec",
    "parse_spec",
    "run",
]


def test_all_is_exactly_the_curated_list_and_sorted() -> None:
    assert cloudtwin.__all__ == EXPECTED
    assert list(cloudtwin.__all__) == sorted(cloudtwin.__all__)


def test_every_exported_name_exists() -> None:
    for name in cloudtwin.__all__:
        assert hasattr(cloudtwin, name), name


def test_errors_share_one_base() -> None:
    for exc in (cloudtwin.SpecError, cloudtwin.RunRefused, cloudtwin.InvariantViolation):
        assert issubclass(exc, cloudtwin.CloudtwinError)


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("cloudtwin").joinpath("py.typed").is_file()
