/**
 * A kind's resources live in its KindPipeline (`S3ToZoho/Attachment/Queue`) but keep the logical
 * ids they had when they sat in S3ToZoho itself (`S3ToZoho/AttachmentQueue`): CloudFormation
 * replaces a resource whose logical id changes, and a replaced queue loses its messages, a
 * replaced dead-letter queue the failures waiting for a redrive. CDK derives a logical id, and a
 * node's unique id, from the construct path; here the same public `Names.uniqueId` is asked about
 * the flat path, the pipeline's id joined to its child's.
 */
import { CfnElement, Names, Stack } from 'aws-cdk-lib';
import { Construct, type IConstruct, RootConstruct } from 'constructs';

/** The unique id (`Names.nodeUniqueId`) a node under `pipeline` had at its flat path; `path` is its ids below the pipeline. */
export function flatUniqueId(pipeline: Construct, path: readonly string[]): string {
  return uniqueIdOf(flatPath(pipeline, path).slice(1));
}

/**
 * Gives every CloudFormation element now under `pipeline` the logical id it had at its flat path,
 * reading the unique ids of the pipeline's children that ids below embed (an event source
 * mapping's id holds its queue's) as they were too. Elements added later keep CDK's own ids.
 */
export function keepFlatLogicalIds(pipeline: Construct): void {
  const stackDepth = Stack.of(pipeline).node.scopes.length;
  const renamed = pipeline.node.children.map((child) => ({
    now: Names.uniqueId(child),
    flat: flatUniqueId(pipeline, [child.node.id]),
  }));
  for (const element of pipeline.node.findAll()) {
    if (!CfnElement.isCfnElement(element)) continue;
    const path = flatPath(pipeline, idsBelow(pipeline, element))
      .slice(stackDepth)
      .map((id) => renamed.reduce((text, { now, flat }) => text.replace(now, flat), id));
    element.overrideLogicalId(uniqueIdOf(path));
  }
}

/** The node's path from the root, the pipeline's id joined to the next one. */
function flatPath(pipeline: Construct, below: readonly string[]): string[] {
  const above = pipeline.node.scopes.map((scope) => scope.node.id);
  const [first = '', ...rest] = below;
  return [...above.slice(0, -1), `${pipeline.node.id}${first}`, ...rest];
}

function idsBelow(pipeline: Construct, node: IConstruct): string[] {
  return node.node.scopes.slice(pipeline.node.scopes.length).map((scope) => scope.node.id);
}

/** CDK's unique id of a path (root first, left out): a throwaway tree of that path, asked through the public API. */
function uniqueIdOf(path: readonly string[]): string {
  let node: Construct = new RootConstruct();
  for (const id of path) node = new Construct(node, id);
  return Names.uniqueId(node);
}
