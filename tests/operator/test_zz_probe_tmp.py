from kubernetes import client
def test_x(kube):
    api = kube.api_client()
    for name, fn in [("core", lambda: client.CoreV1Api(api).get_api_resources()),
                     ("custom", lambda: client.CustomObjectsApi(api).get_api_resources("calsync.dev","v1alpha1")),
                     ("version", lambda: client.VersionApi(api).get_code()),
                     ("list", lambda: client.CustomObjectsApi(api).list_namespaced_custom_object("calsync.dev","v1alpha1","default","calendarsyncs", limit=1))]:
        try:
            r = fn(); print(name, "OK", type(r))
        except Exception as e:
            print(name, "ERR", type(e).__name__, getattr(e, "status", ""))
