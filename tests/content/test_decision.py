import pytest
import yaml

from content import decision


def test_every_path_of_the_shipped_tree_ends_in_a_result():
    tree = decision.load_tree()
    nodes = tree["nodes"]

    def explore(node_id, seen):
        assert node_id not in seen, f"cycle through {node_id}"
        node = nodes[node_id]
        if "result" in node:
            assert node["title"] and node["explanation"]
            return 1
        return sum(explore(a["next"], seen | {node_id}) for a in node["answers"])

    assert explore(tree["start"], frozenset()) >= 4
    results = {node["result"] for node in nodes.values() if "result" in node}
    assert {"kms", "cloudhsm", "custom-key-store"} <= results


def test_walk_records_answers_and_offers_back(tmp_path):
    path = tmp_path / "tree.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "start": "q1",
                "nodes": {
                    "q1": {
                        "question": "Need PKCS #11?",
                        "answers": [
                            {"label": "Yes", "next": "hsm"},
                            {"label": "No", "next": "kms"},
                        ],
                    },
                    "hsm": {
                        "result": "cloudhsm",
                        "title": "CloudHSM",
                        "explanation": "Standard API.",
                    },
                    "kms": {"result": "kms", "title": "KMS", "explanation": "AWS integration."},
                },
            }
        )
    )
    tree = decision.load_tree(path)
    walk = decision.walk([1], tree)
    assert walk.result["title"] == "KMS"
    assert walk.steps[0].chosen == 1
    assert walk.back_link() == ""
    assert decision.walk([], tree).steps[0].chosen is None


def test_a_tree_pointing_nowhere_is_refused(tmp_path):
    path = tmp_path / "tree.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "start": "q1",
                "nodes": {
                    "q1": {"question": "?", "answers": [{"label": "Yes", "next": "missing"}]}
                },
            }
        )
    )
    with pytest.raises(decision.DecisionTreeError, match="unknown node"):
        decision.load_tree(path)
