# Serves a flow that an automation runs when a matching event arrives, as
# flow.serve(triggers=[DeploymentEventTrigger(...)]) sets it up.
from prefect import flow, get_run_logger
from prefect.events import DeploymentEventTrigger


@flow(name="triggered")
def triggered(who: str = "nobody"):
    get_run_logger().info(f"triggered for {who}")


if __name__ == "__main__":
    triggered.serve(
        name="on-order",
        triggers=[
            DeploymentEventTrigger(
                expect={"compat.order.placed"},
                match={"prefect.resource.id": "compat.order.*"},
                parameters={"who": "the order"},
            )
        ],
    )
