"""The pure domain: rules of the reactivation campaign. No I/O, no clock (`now` is a parameter)."""
