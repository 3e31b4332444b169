pytest_plugins = ["divert_devstack.testing"]
