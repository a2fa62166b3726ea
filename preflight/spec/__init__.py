"""Job specs: what the user wants to send."""

from preflight.spec.loader import Account, JobSpec, load_spec, spec_from_dict

__all__ = ["Account", "JobSpec", "load_spec", "spec_from_dict"]
