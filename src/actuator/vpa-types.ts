// The parts of autoscaling.k8s.io/v1 VerticalPodAutoscaler the actuator reads and writes.
import type { ManagedFieldsEntry } from './last-write.js';

export type ResourceList = Record<string, string>;

export interface ContainerResourcePolicy {
  containerName?: string;
  mode?: 'Auto' | 'Off';
  minAllowed?: ResourceList;
  maxAllowed?: ResourceList;
  controlledResources?: string[];
  controlledValues?: string;
}

export interface RecommendedContainerResources {
  containerName: string;
  target: ResourceList;
  lowerBound?: ResourceList;
  upperBound?: ResourceList;
  uncappedTarget?: ResourceList;
}

export interface VpaCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface Vpa {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    /** Who changed which fields when: the recommender's last write of the status is read from it after a restart. */
    managedFields?: ManagedFieldsEntry[];
  };
  spec: {
    targetRef?: { apiVersion?: string; kind: string; name: string };
    recommenders?: { name: string }[];
    resourcePolicy?: { containerPolicies?: ContainerResourcePolicy[] };
    updatePolicy?: { updateMode?: string };
  };
  status?: {
    recommendation?: { containerRecommendations?: RecommendedContainerResources[] };
    conditions?: VpaCondition[];
  };
}

export const VPA_GROUP = 'autoscaling.k8s.io';
export const VPA_VERSION = 'v1';
