/**
 * Typed domain errors. Only the GraphQL layer turns them into GraphQL errors (graphql-kit's
 * error formatter); managers and DAOs throw these and never know about transport.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** "Not found" and "not yours" are the same answer to the caller. */
export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super(`${entity.toUpperCase()}_NOT_FOUND`, `${entity} ${id} was not found.`, { entity, id });
  }
}

export class ValidationError extends DomainError {
  constructor(
    message: string,
    readonly fieldErrors: Array<{ field: string; message: string }>,
  ) {
    super('VALIDATION_FAILED', message, { fieldErrors });
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'You must be signed in to do this.') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You do not have permission to do this.') {
    super('FORBIDDEN', message);
  }
}
