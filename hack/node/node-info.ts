/** This node's identity, shared by everything that reports it. */
export const NODE_NAME = process.env.CROSSWAY_NODE_NAME ?? "crossway-node";
/** The node's InternalIP: the host end of the pod bridge, reachable from every pod. */
export const NODE_IP = "10.244.0.1";
export const FIELD_MANAGER = "crossway-node";
