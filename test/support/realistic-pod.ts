// A Pod as a real API server returns it (kubectl get pod -o json of a Deployment's pod on a
// 1.30 cluster, names changed): managedFields, env, volumes, probes, tolerations, conditions.
// About 6 KB of JSON, where the objects the doubles usually hold are a few hundred bytes:
// for tests and benchmarks of what the informer caches keep.

export function realisticPod(namespace: string, name: string, opts: { app?: string; ready?: boolean; jobName?: string } = {}): Record<string, unknown> {
  const app = opts.app ?? "web";
  const ready = opts.ready ?? true;
  const image = `ghcr.io/acme/${app}:3f9c2b1e8d7a6c5b4a3928171615141312111009`;
  const time = "2026-11-30T08:00:00Z";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      uid: "5b1f0c1e-7a1d-4c1b-9e0e-2f4b8f6a9d10",
      resourceVersion: "48213377",
      creationTimestamp: time,
      generateName: name.replace(/[a-z0-9]{5}$/, ""),
      labels: {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": namespace,
        "app.kubernetes.io/component": "web",
        "pod-template-hash": "7f9c5d8b6",
        ...(opts.jobName ? { "batch.kubernetes.io/job-name": opts.jobName, "job-name": opts.jobName } : {}),
      },
      annotations: {
        "checksum/config": "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e",
        "kubectl.kubernetes.io/restartedAt": time,
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
      },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `${app}-7f9c5d8b6`, uid: "0d3f5a7c-9b1d-4e3f-8a5c-7e9b1d3f5a7c", controller: true, blockOwnerDeletion: true }],
      managedFields: [
        {
          manager: "kube-controller-manager",
          operation: "Update",
          apiVersion: "v1",
          time,
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": { "f:generateName": {}, "f:labels": { ".": {}, "f:app.kubernetes.io/component": {}, "f:app.kubernetes.io/instance": {}, "f:app.kubernetes.io/name": {}, "f:pod-template-hash": {} }, "f:ownerReferences": { ".": {}, 'k:{"uid":"0d3f5a7c-9b1d-4e3f-8a5c-7e9b1d3f5a7c"}': {} } },
            "f:spec": { "f:containers": { 'k:{"name":"web"}': { ".": {}, "f:env": { ".": {}, 'k:{"name":"DATABASE_URL"}': { ".": {}, "f:name": {}, "f:valueFrom": {} }, 'k:{"name":"PORT"}': { ".": {}, "f:name": {}, "f:value": {} } }, "f:image": {}, "f:imagePullPolicy": {}, "f:livenessProbe": {}, "f:name": {}, "f:ports": {}, "f:readinessProbe": {}, "f:resources": {}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}, "f:volumeMounts": {} } }, "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}, "f:volumes": {} },
          },
        },
        {
          manager: "kubelet",
          operation: "Update",
          apiVersion: "v1",
          time,
          fieldsType: "FieldsV1",
          fieldsV1: { "f:status": { "f:conditions": { 'k:{"type":"ContainersReady"}': { ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} }, 'k:{"type":"Initialized"}': { ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} }, 'k:{"type":"Ready"}': { ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {} } }, "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {}, "f:podIPs": {}, "f:startTime": {} } },
          subresource: "status",
        },
      ],
    },
    spec: {
      volumes: [
        { name: "config", configMap: { name: `${app}-config`, defaultMode: 420 } },
        { name: "kube-api-access-x7k2p", projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }, { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } }, { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } }] } },
      ],
      containers: [
        {
          name: "web",
          image,
          ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }, { name: "metrics", containerPort: 9090, protocol: "TCP" }],
          env: [{ name: "PORT", value: "8080" }, { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: `${app}-db`, key: "url" } } }, { name: "LOG_LEVEL", value: "info" }],
          resources: { limits: { cpu: "500m", memory: "512Mi" }, requests: { cpu: "100m", memory: "256Mi" } },
          volumeMounts: [{ name: "config", mountPath: "/etc/app", readOnly: true }, { name: "kube-api-access-x7k2p", readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }],
          livenessProbe: { httpGet: { path: "/healthz", port: "http", scheme: "HTTP" }, initialDelaySeconds: 10, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
          readinessProbe: { httpGet: { path: "/readyz", port: "http", scheme: "HTTP" }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 },
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
          imagePullPolicy: "IfNotPresent",
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
        },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      serviceAccount: "default",
      nodeName: "ip-10-0-12-34.eu-west-1.compute.internal",
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
      schedulerName: "default-scheduler",
      tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }, { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
    },
    status: {
      phase: "Running",
      conditions: [
        { type: "PodReadyToStartContainers", status: "True", lastProbeTime: null, lastTransitionTime: time },
        { type: "Initialized", status: "True", lastProbeTime: null, lastTransitionTime: time },
        { type: "Ready", status: ready ? "True" : "False", lastProbeTime: null, lastTransitionTime: time },
        { type: "ContainersReady", status: ready ? "True" : "False", lastProbeTime: null, lastTransitionTime: time },
        { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: time },
      ],
      hostIP: "10.0.12.34",
      hostIPs: [{ ip: "10.0.12.34" }],
      podIP: "10.0.77.201",
      podIPs: [{ ip: "10.0.77.201" }],
      startTime: time,
      containerStatuses: [
        {
          name: "web",
          state: ready ? { running: { startedAt: time } } : { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s restarting failed container=web" } },
          ...(ready ? {} : { lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: time, finishedAt: time, containerID: "containerd://4a5b" } } }),
          ready,
          restartCount: ready ? 0 : 5,
          image,
          imageID: `ghcr.io/acme/${app}@sha256:4f2a9c8e7d6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09`,
          containerID: "containerd://9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b",
          started: ready,
        },
      ],
      qosClass: "Burstable",
    },
  };
}
