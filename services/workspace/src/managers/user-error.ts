/** Expected mutation failures, returned in the payload (never thrown): the service's typed builder. */
export { userError, type WorkspaceUserError as UserError } from '../errors';
