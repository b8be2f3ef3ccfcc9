"""A flow whose body raises: the process must exit non-zero and the run end FAILED."""

from prefect import flow


@flow(name="failing")
def failing_flow():
    raise ValueError("boom")


if __name__ == "__main__":
    failing_flow()
