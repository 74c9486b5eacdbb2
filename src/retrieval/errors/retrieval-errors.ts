import { InvalidRequestError } from '../../common/errors/index.js';

/** `param`: the field that named it (the path's `name`; `retrieval.collection` in a grounded chat). */
export function collectionNotFound(name: string, param = 'name'): InvalidRequestError {
  return new InvalidRequestError(`No collection named '${name}'`, { status: 404, code: 'collection_not_found', param });
}

export function documentNotFound(collection: string, id: string): InvalidRequestError {
  return new InvalidRequestError(`No document '${id}' in collection '${collection}'`, { status: 404, code: 'document_not_found', param: 'id' });
}

export function collectionExists(name: string): InvalidRequestError {
  return new InvalidRequestError(`A collection named '${name}' already exists`, { status: 409, code: 'collection_exists', param: 'name' });
}

export function dimensionMismatch(collection: string, expected: number, got: number): InvalidRequestError {
  return new InvalidRequestError(
    `Collection '${collection}' holds ${expected}-dimensional vectors, but the embedding model returned ${got} dimensions`,
    { status: 409, code: 'dimension_mismatch' },
  );
}
