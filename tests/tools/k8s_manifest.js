#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Reads the Kubernetes manifests in docker/ with a YAML 1.2 parser (npm
// `yaml`) for the tests, so that the tests use what the manifests say
// instead of repeating it.
//
//   node k8s_manifest.js check DIR
//       every *.yaml in DIR parses (no error, no warning, no duplicate key);
//       the objects are complete and consistent (see checkAll); prints one
//       line per object. Exit 1 with every problem found.
//   node k8s_manifest.js config DIR
//       the hostlat config of the ConfigMap the DaemonSet mounts, as is.
//   node k8s_manifest.js collector-config DIR
//       the collector's config (the ConfigMap the collector mounts).
//   node k8s_manifest.js podman DIR --name NAME --config-dir D --state-dir D
//           [--image IMAGE] [--node-name NODE] [--env NAME=VALUE]...
//       `podman run` arguments (one per line) that run the DaemonSet's
//       container as the kubelet would: host network (and PID when set),
//       its capabilities, security options, resource limits, its volume
//       mounts (ConfigMaps from --config-dir, writable hostPaths from
//       --state-dir, read-only hostPaths from the host itself), its env
//       (fieldRef values and overrides from --env), the image and its args.
//   node k8s_manifest.js probes DIR
//       the container's probes, one per line: KIND URL (httpGet only).
//   node k8s_manifest.js image DIR
//       the DaemonSet container's image.
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require(path.join(__dirname, "..", "node_modules", "yaml"));

const NAMESPACED = new Set(["ServiceAccount", "ConfigMap", "DaemonSet", "Deployment", "Service"]);
const KNOWN = new Set(["Namespace", ...NAMESPACED]);
const ALLOWED_CAPS = new Set(["BPF", "PERFMON", "NET_ADMIN", "SYS_RESOURCE", "SYS_ADMIN"]);

function die(msg) {
	process.stderr.write(msg + "\n");
	process.exit(1);
}

// Every document of every *.yaml in dir: [{file, doc}]; parse errors and
// warnings (duplicate keys included) are fatal.
function load(dir) {
	const objs = [];
	const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
	if (!files.length)
		die(`${dir}: no *.yaml files`);
	for (const f of files) {
		const text = fs.readFileSync(path.join(dir, f), "utf8");
		const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, strict: true });
		for (const d of docs) {
			const probs = [...d.errors, ...d.warnings];
			if (probs.length)
				die(`${f}: ${probs.map((e) => e.message.split("\n")[0]).join("; ")}`);
			const js = d.toJS();
			if (js !== null && js !== undefined)
				objs.push({ file: f, obj: js });
		}
	}
	return objs;
}

function find(objs, kind, name) {
	const o = objs.find((x) => x.obj.kind === kind && (!name || x.obj.metadata.name === name));
	return o ? o.obj : null;
}

function daemonset(objs) {
	const ds = find(objs, "DaemonSet");
	if (!ds)
		die("no DaemonSet");
	return ds;
}

function agentContainer(ds) {
	const cs = ds.spec.template.spec.containers;
	if (!cs || cs.length !== 1)
		die("the DaemonSet must have exactly one container");
	return cs[0];
}

// The ConfigMap volume that holds the agent's config, and its key: from the
// --config argument.
function agentConfig(objs) {
	const ds = daemonset(objs);
	const c = agentContainer(ds);
	const args = c.args || [];
	const i = args.indexOf("--config");
	if (i < 0 || i + 1 >= args.length)
		die("the container's args have no --config PATH");
	const file = args[i + 1];
	for (const m of c.volumeMounts || []) {
		if (!file.startsWith(m.mountPath + "/"))
			continue;
		const vol = (ds.spec.template.spec.volumes || []).find((v) => v.name === m.name);
		if (!vol || !vol.configMap)
			continue;
		const cm = find(objs, "ConfigMap", vol.configMap.name);
		const key = file.slice(m.mountPath.length + 1);
		if (!cm || !cm.data || typeof cm.data[key] !== "string")
			die(`--config ${file}: ConfigMap ${vol.configMap.name} has no key ${key}`);
		return { file, text: cm.data[key], configMap: cm.metadata.name, key };
	}
	die(`--config ${file} is not in a ConfigMap volume`);
}

function probes(c) {
	const out = [];
	for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
		const p = c[kind];
		if (!p)
			continue;
		if (!p.httpGet)
			die(`${kind}: only httpGet probes are supported here`);
		const g = p.httpGet;
		out.push({ kind, url: `${(g.scheme || "HTTP").toLowerCase()}://${g.host || "POD_IP"}:${g.port}${g.path}` });
	}
	return out;
}

// ---- check -------------------------------------------------------------------------

function checkAll(objs) {
	const errs = [];
	const err = (m) => errs.push(m);
	const byKind = {};
	for (const { file, obj } of objs) {
		const where = `${file}: ${obj.kind || "?"} ${obj.metadata && obj.metadata.name}`;
		if (!obj.apiVersion || !obj.kind || !obj.metadata || !obj.metadata.name) {
			err(`${where}: apiVersion, kind and metadata.name are required`);
			continue;
		}
		if (!KNOWN.has(obj.kind))
			err(`${where}: unexpected kind`);
		if (NAMESPACED.has(obj.kind) && obj.metadata.namespace !== "hostlat")
			err(`${where}: not in namespace hostlat`);
		(byKind[obj.kind] = byKind[obj.kind] || []).push(obj);
		console.log(`${file}: ${obj.apiVersion} ${obj.kind} ${obj.metadata.name}`);
	}
	const ns = find(objs, "Namespace", "hostlat");
	if (!ns)
		err("no Namespace hostlat");
	const nsIndex = objs.findIndex((x) => x.obj.kind === "Namespace");
	if (objs.findIndex((x) => NAMESPACED.has(x.obj.kind)) < nsIndex)
		err("the Namespace must come before the objects in it (kubectl apply -f docker/ applies in file order)");

	const checkPod = (owner, spec) => {
		const labels = spec.template.metadata.labels || {};
		for (const [k, v] of Object.entries(spec.selector.matchLabels || {}))
			if (labels[k] !== v)
				err(`${owner}: selector ${k}=${v} does not match the pod labels`);
		const pod = spec.template.spec;
		const vols = new Map((pod.volumes || []).map((v) => [v.name, v]));
		for (const c of pod.containers) {
			for (const m of c.volumeMounts || []) {
				const v = vols.get(m.name);
				if (!v)
					err(`${owner}: mount ${m.name} has no volume`);
				else if (v.configMap && !find(objs, "ConfigMap", v.configMap.name))
					err(`${owner}: volume ${m.name}: no ConfigMap ${v.configMap.name}`);
			}
			if (!c.resources || !c.resources.requests || !c.resources.limits || !c.resources.limits.memory)
				err(`${owner}: container ${c.name} needs resource requests and a memory limit`);
			const sc = c.securityContext || {};
			if (sc.privileged)
				err(`${owner}: container ${c.name} is privileged`);
			if (sc.allowPrivilegeEscalation !== false)
				err(`${owner}: container ${c.name} must set allowPrivilegeEscalation: false`);
			if (sc.readOnlyRootFilesystem !== true)
				err(`${owner}: container ${c.name} must set readOnlyRootFilesystem: true`);
			if (!sc.capabilities || !(sc.capabilities.drop || []).includes("ALL"))
				err(`${owner}: container ${c.name} must drop ALL capabilities`);
		}
		if (pod.serviceAccountName && !find(objs, "ServiceAccount", pod.serviceAccountName))
			err(`${owner}: no ServiceAccount ${pod.serviceAccountName}`);
		if (pod.automountServiceAccountToken !== false)
			err(`${owner}: automountServiceAccountToken must be false`);
	};

	for (const d of byKind.Deployment || [])
		checkPod(`Deployment ${d.metadata.name}`, d.spec);
	const ds = daemonset(objs);
	checkPod("DaemonSet", ds.spec);
	const pod = ds.spec.template.spec;
	const c = agentContainer(ds);
	if (!pod.hostNetwork)
		err("DaemonSet: hostNetwork must be true (the probes watch the node's stack)");
	if (pod.hostNetwork && pod.dnsPolicy !== "ClusterFirstWithHostNet")
		err("DaemonSet: hostNetwork needs dnsPolicy: ClusterFirstWithHostNet to resolve the collector");
	if (pod.hostPID)
		err("DaemonSet: hostPID is not needed by any default probe");
	if (!ds.spec.updateStrategy || ds.spec.updateStrategy.type !== "RollingUpdate")
		err("DaemonSet: updateStrategy must be RollingUpdate");
	if (!(pod.tolerations || []).some((t) => t.operator === "Exists" && !t.key))
		err("DaemonSet: needs a toleration { operator: Exists } to run on every node");
	const caps = (c.securityContext.capabilities.add || []);
	for (const cap of caps)
		if (!ALLOWED_CAPS.has(cap))
			err(`DaemonSet: capability ${cap} is not one the agent needs`);
	for (const cap of ["BPF", "PERFMON", "NET_ADMIN"])
		if (!caps.includes(cap))
			err(`DaemonSet: capability ${cap} is missing`);
	if (caps.includes("SYS_ADMIN"))
		err("DaemonSet: SYS_ADMIN is only a documented fallback for kernels before 5.8");
	const vols = new Map((pod.volumes || []).map((v) => [v.name, v]));
	for (const m of c.volumeMounts || []) {
		const v = vols.get(m.name);
		if (v && v.hostPath && m.mountPath.startsWith("/sys/") && m.readOnly !== true)
			err(`DaemonSet: ${m.mountPath} must be mounted read-only`);
	}
	const env = new Map((c.env || []).map((e) => [e.name, e]));
	const wantRefs = {
		K8S_NODE_NAME: "spec.nodeName",
		K8S_POD_NAME: "metadata.name",
		K8S_POD_NAMESPACE: "metadata.namespace",
		K8S_POD_UID: "metadata.uid",
	};
	for (const [name, field] of Object.entries(wantRefs)) {
		const e = env.get(name);
		if (!e || !e.valueFrom || !e.valueFrom.fieldRef || e.valueFrom.fieldRef.fieldPath !== field)
			err(`DaemonSet: env ${name} must come from fieldRef ${field}`);
	}
	// The endpoint names a Service of these manifests, on one of its ports,
	// and that Service selects a pod whose container listens there.
	const ep = env.get("OTEL_EXPORTER_OTLP_ENDPOINT");
	if (!ep || !ep.value) {
		err("DaemonSet: env OTEL_EXPORTER_OTLP_ENDPOINT is missing");
	} else {
		const u = new URL(ep.value);
		const [svcName, svcNs] = u.hostname.split(".");
		const svc = find(objs, "Service", svcName);
		if (!svc || svcNs !== svc.metadata.namespace || !u.hostname.endsWith(".svc.cluster.local"))
			err(`DaemonSet: OTEL_EXPORTER_OTLP_ENDPOINT ${ep.value} is not a Service of these manifests`);
		else {
			const port = svc.spec.ports.find((p) => p.port === Number(u.port));
			if (!port)
				err(`Service ${svcName} has no port ${u.port}`);
			const dep = (byKind.Deployment || []).find((d) =>
				Object.entries(svc.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
			if (!dep)
				err(`Service ${svcName} selects no Deployment`);
			else if (port) {
				const cps = dep.spec.template.spec.containers.flatMap((x) => x.ports || []);
				if (!cps.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort))
					err(`Service ${svcName}: targetPort ${port.targetPort} is no container port`);
			}
		}
	}
	// Probes: the health endpoint the ConfigMap's config serves.
	const cfg = agentConfig(objs);
	const agentYaml = YAML.parse(cfg.text);
	const listen = agentYaml && agentYaml.agent && agentYaml.agent.health && agentYaml.agent.health.listen;
	if (!listen) {
		err("ConfigMap: agent.health.listen is not set but the probes need it");
	} else {
		const want = { startupProbe: "/healthz", livenessProbe: "/healthz", readinessProbe: "/readyz" };
		const got = probes(c);
		for (const [kind, p] of Object.entries(want)) {
			const pr = got.find((x) => x.kind === kind);
			if (!pr || pr.url !== `http://${listen}${p}`)
				err(`DaemonSet: ${kind} must GET http://${listen}${p}, not ${pr ? pr.url : "(none)"}`);
		}
	}
	return errs;
}

// ---- podman --------------------------------------------------------------------------

function bytes(q) {
	const m = /^([0-9.]+)(Ki|Mi|Gi|k|M|G)?$/.exec(String(q));
	if (!m)
		die(`cannot read quantity ${q}`);
	const mult = { Ki: 1024, Mi: 1 << 20, Gi: 1 << 30, k: 1e3, M: 1e6, G: 1e9 }[m[2]] || 1;
	return Math.round(Number(m[1]) * mult);
}

function cpus(q) {
	const s = String(q);
	return s.endsWith("m") ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

function podmanArgs(objs, o) {
	const ds = daemonset(objs);
	const pod = ds.spec.template.spec;
	const c = agentContainer(ds);
	const sc = c.securityContext || {};
	const a = ["--name", o.name];
	if (pod.hostNetwork)
		a.push("--network=host");
	if (pod.hostPID)
		a.push("--pid=host");
	if (sc.privileged)
		a.push("--privileged");
	for (const cap of (sc.capabilities && sc.capabilities.drop) || [])
		a.push(`--cap-drop=${cap}`);
	for (const cap of (sc.capabilities && sc.capabilities.add) || [])
		a.push(`--cap-add=${cap}`);
	if (sc.allowPrivilegeEscalation === false)
		a.push("--security-opt=no-new-privileges");
	if (sc.readOnlyRootFilesystem)
		a.push("--read-only", "--read-only-tmpfs=false");
	if (sc.runAsUser !== undefined)
		a.push(`--user=${sc.runAsUser}`);
	if (sc.seccompProfile && sc.seccompProfile.type === "Unconfined")
		a.push("--security-opt=seccomp=unconfined");
	const lim = (c.resources && c.resources.limits) || {};
	if (lim.memory)
		a.push(`--memory=${bytes(lim.memory)}`);
	if (lim.cpu)
		a.push(`--cpus=${cpus(lim.cpu)}`);
	const vols = new Map((pod.volumes || []).map((v) => [v.name, v]));
	for (const m of c.volumeMounts || []) {
		const v = vols.get(m.name);
		let src;
		if (v.configMap) {
			const cm = find(objs, "ConfigMap", v.configMap.name);
			src = path.join(o.configDir, v.name);
			fs.mkdirSync(src, { recursive: true });
			for (const [k, text] of Object.entries(cm.data || {}))
				fs.writeFileSync(path.join(src, k), text, { mode: 0o644 });
		} else if (v.hostPath && m.readOnly) {
			src = v.hostPath.path; /* kernel interfaces: the host's own */
		} else if (v.hostPath) {
			src = path.join(o.stateDir, v.name); /* state: the test's directory */
			fs.mkdirSync(src, { recursive: true });
		} else {
			die(`volume ${v.name}: only configMap and hostPath volumes are supported here`);
		}
		a.push(`--volume=${src}:${m.mountPath}:${m.readOnly ? "ro" : "rw"}`);
	}
	const fieldValues = {
		"spec.nodeName": o.nodeName,
		"metadata.name": o.name,
		"metadata.namespace": ds.metadata.namespace,
		"metadata.uid": o.uid,
	};
	for (const e of c.env || []) {
		let val = e.value;
		if (o.env.has(e.name))
			val = o.env.get(e.name);
		else if (e.valueFrom && e.valueFrom.fieldRef)
			val = fieldValues[e.valueFrom.fieldRef.fieldPath];
		if (val === undefined)
			die(`env ${e.name}: cannot tell its value here`);
		a.push(`--env=${e.name}=${val}`);
	}
	for (const [k, v] of o.env)
		if (!(c.env || []).some((e) => e.name === k))
			a.push(`--env=${k}=${v}`);
	a.push(o.image, ...(c.args || []));
	return a;
}

// ---- main ------------------------------------------------------------------------------

function main() {
	const [cmd, dir, ...rest] = process.argv.slice(2);
	if (!cmd || !dir)
		die("usage: k8s_manifest.js check|config|collector-config|podman|probes|image DIR [OPTIONS]");
	const objs = load(dir);
	if (cmd === "check") {
		const errs = checkAll(objs);
		if (errs.length)
			die(errs.map((e) => "manifest: " + e).join("\n"));
		return;
	}
	if (cmd === "config") {
		process.stdout.write(agentConfig(objs).text);
		return;
	}
	if (cmd === "collector-config") {
		const dep = find(objs, "Deployment", "otel-collector");
		const vol = dep && dep.spec.template.spec.volumes.find((v) => v.configMap);
		const cm = vol && find(objs, "ConfigMap", vol.configMap.name);
		if (!cm)
			die("no collector ConfigMap");
		process.stdout.write(Object.values(cm.data)[0]);
		return;
	}
	if (cmd === "image") {
		console.log(agentContainer(daemonset(objs)).image);
		return;
	}
	if (cmd === "probes") {
		for (const p of probes(agentContainer(daemonset(objs))))
			console.log(`${p.kind} ${p.url}`);
		return;
	}
	if (cmd === "podman") {
		const o = { env: new Map(), nodeName: "node-1", uid: "00000000-0000-4000-8000-000000000000" };
		o.image = agentContainer(daemonset(objs)).image;
		for (let i = 0; i < rest.length; i++) {
			const k = rest[i], v = rest[++i];
			if (v === undefined)
				die(`${k} needs a value`);
			if (k === "--name") o.name = v;
			else if (k === "--image") o.image = v;
			else if (k === "--config-dir") o.configDir = v;
			else if (k === "--state-dir") o.stateDir = v;
			else if (k === "--node-name") o.nodeName = v;
			else if (k === "--env") {
				const eq = v.indexOf("=");
				o.env.set(v.slice(0, eq), v.slice(eq + 1));
			} else die(`unknown option ${k}`);
		}
		if (!o.name || !o.configDir || !o.stateDir)
			die("podman needs --name, --config-dir and --state-dir");
		for (const x of podmanArgs(objs, o))
			console.log(x);
		return;
	}
	die(`unknown command ${cmd}`);
}

main();
