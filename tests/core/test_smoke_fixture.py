def test_world_fixture_builds_a_user_with_a_selected_action(world):
    user = world.user(timezone="Asia/Kolkata")
    action = world.action()
    user_action = user.select_action(action)
    response = user.post(f"/api/users/actions/{user_action}/complete/")
    assert response.status_code == 202
    assert world.drain().applied == 1
    latest = user.get("/api/users/progress/latest/").json
    assert latest["actions_completed"] == 1
