# Serves a flow every 3 seconds, as the getting-started guide's
# flow.serve(interval=...) does, until interrupted.
from prefect import flow, get_run_logger


@flow(name="served")
def served(n: int = 1, greeting: str = "hi"):
    get_run_logger().info(f"served run n={n} greeting={greeting}")


if __name__ == "__main__":
    served.serve(name="every-3s", interval=3, parameters={"n": 1})
