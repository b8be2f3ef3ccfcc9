"""A flow that persists its task's result with no result storage set on
the client side: the client stores it where the server's default result
storage (PUT /admin/storage) says."""

from prefect import flow, task


@task(persist_result=True)
def answer() -> int:
    return 42


@flow
def server_storage_flow() -> int:
    return answer()


if __name__ == "__main__":
    print("answer", server_storage_flow(), flush=True)
