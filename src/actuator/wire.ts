// How the composition root (src/main.ts) starts the actuator: one call gives the running actuator, the plugin for
// /api/v1/actions and a close function. Everything else in src/actuator receives narrow interfaces.
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { actionsRoute, type ActionsRouteOptions } from './actions-route.js';
import { Actuator, type SnapshotSource } from './actuator.js';
import type { ActuatorOptions } from './config.js';
import { ActionJournal } from './journal.js';
import { connectionFromKubeConfig, type KubeConnection } from './kube-api.js';
import type { ActuatorLog } from './log.js';
import { createActuatorMetrics } from './metrics.js';

export interface ActuatorWiring {
  /** Undefined when Kubernetes is off (the journal and /api/v1/actions still exist, empty). */
  actuator?: Actuator;
  journal: ActionJournal;
  /** For buildServer's `plugins`: `{ plugin, options }` mounting GET /api/v1/actions. */
  route: { plugin: FastifyPluginAsync<ActionsRouteOptions>; options: ActionsRouteOptions };
  close(): Promise<void>;
}

export interface WireOptions {
  options: ActuatorOptions;
  /** Run against Kubernetes (config `kubernetes`); when false only the journal route is offered. */
  enabled: boolean;
  /** The loop's SnapshotHub (EngineLoop.hub). */
  source: SnapshotSource;
  /** The exporter's registry (foresight_kube_errors_total, foresight_actions_total, foresight_leader, reserved shadow). */
  registry: Registry;
  log: ActuatorLog;
  /** Default: in-cluster ServiceAccount, else $KUBECONFIG / ~/.kube/config. */
  connection?: KubeConnection;
}

export async function startActuator(w: WireOptions): Promise<ActuatorWiring> {
  const journal = new ActionJournal(w.options.journalPath, w.options.journalMemoryEntries);
  const route = { plugin: actionsRoute, options: { journal } };
  if (!w.enabled) return { journal, route, close: async () => {} };
  const connection = w.connection ?? (await connectionFromKubeConfig());
  const actuator = new Actuator({ connection, options: w.options, journal, metrics: createActuatorMetrics(w.registry), log: w.log });
  actuator.start(w.source);
  w.log.info({ dryRun: actuator.options.dryRun, identity: actuator.options.identity, recommender: actuator.options.recommenderName }, 'actuator started');
  return { actuator, journal, route, close: () => actuator.stop() };
}
