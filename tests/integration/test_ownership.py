"""A kind cluster belongs to the one stack state that created it: two states
on one Docker host (two checkouts of a stack, or two stacks naming one
cluster) never adopt or delete each other's cluster."""

from __future__ import annotations

from harness import FakeCli
from integration.test_lifecycle import Stack

from components.cluster.owner import OWNER_FILE

NAME = "imagevolume-dev"


def owner_of(cli: FakeCli, name: str = NAME) -> str:
    node = next(n for n in cli.cluster(name).data["nodes"] if n["role"] == "control-plane")
    return str((node.get("files") or {}).get(OWNER_FILE, ""))


def test_a_second_checkout_stops_at_the_first_ones_cluster_and_leaves_it(cli: FakeCli) -> None:
    first, second = Stack(cli), Stack(cli)  # two states of stack dev
    assert first.up().error is None
    kubeconfig, owner = cli.kubeconfig(NAME), owner_of(cli)
    attempt = second.up()
    assert attempt.error is not None
    message = str(attempt.error)
    assert (
        f"kind cluster {NAME} belongs to another stack state: stack dev of project imagevolume in" in message
    )
    assert "It was left untouched" in message and "pulumi config set imagevolume:clusterName" in message
    assert (cli.kubeconfig(NAME), owner_of(cli)) == (kubeconfig, owner)
    assert second.destroy().error is None
    assert cli.clusters() == [NAME]
    assert first.up().changes() == []  # the first state is unaffected


def test_with_their_own_cluster_names_two_checkouts_run_side_by_side(cli: FakeCli) -> None:
    first, second = Stack(cli), Stack(cli)
    assert first.up().error is None
    assert second.up(clusterName="imagevolume-dev-2").error is None
    assert cli.clusters() == [NAME, "imagevolume-dev-2"]
    assert second.destroy().error is None
    assert cli.clusters() == [NAME]
    assert first.destroy().error is None
    assert cli.clusters() == []


def test_destroy_leaves_a_cluster_of_its_name_that_another_state_made(cli: FakeCli) -> None:
    """Its own cluster was deleted by hand, and another state made one of that name."""
    first, second = Stack(cli), Stack(cli)
    assert first.up().error is None
    cli.delete_cluster(NAME)
    assert second.up().error is None
    destroyed = first.destroy()
    assert destroyed.error is None  # the stack can always be destroyed
    assert cli.clusters() == [NAME] and second.up().changes() == []


def test_a_cluster_made_before_owner_records_is_adopted_once_and_stamped(cli: FakeCli) -> None:
    """The first up after the upgrade re-runs create (its environment gained the
    owner), which finds the cluster made from these settings, unmarked."""
    stack = Stack(cli)
    assert stack.up().error is None
    cluster = cli.cluster(NAME)
    for node in cluster.data["nodes"]:
        (node.get("files") or {}).pop(OWNER_FILE, None)  # as the previous version left it
    cluster.save()
    adopted = stack.up(clusterReadyTimeout="6m")  # create runs again
    assert adopted.error is None, adopted.error
    assert owner_of(cli) == stack.engine.resource("cluster-owner").outputs["output"]  # stamped: this state's
    assert Stack(cli).up().error is not None  # from now on it has an owner
    assert stack.destroy().error is None
    assert cli.clusters() == []


def test_stacks_whose_names_fold_alike_keep_their_own_clusters(cli: FakeCli) -> None:
    """dev and Dev (or dev_) once folded into one default cluster name."""
    lower, upper = Stack(cli), Stack(cli)
    upper.name = "Dev"  # the dev settings, under a stack name that differs only in case
    assert lower.up().error is None
    assert upper.up().error is None
    assert len(cli.clusters()) == 2
    assert lower.destroy().error is None
    assert len(cli.clusters()) == 1 and upper.up().changes() == []
    assert upper.destroy().error is None
    assert cli.clusters() == []
