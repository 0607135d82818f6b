/** Expected mutation failures, returned in the payload (never thrown): the service's typed builder. */
export { userError, type AuthUserError as UserError } from '../errors';
