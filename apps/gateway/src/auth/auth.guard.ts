import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/api-error.js';
import { type Principal, type Role, ROLES } from './principal.js';
import { bearerToken, TokenVerifier } from './token-verifier.js';

const ROLES_KEY = 'gateway:roles';
const PUBLIC_KEY = 'gateway:public';

/** The route needs one of these roles (in addition to a valid token). */
export const RequireRole = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/** The route needs no token (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export type AuthenticatedRequest = Request & { principal: Principal };

/** Global guard: every route needs a valid bearer token unless marked @Public(), then the role check. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) {
      return true;
    }
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(req.header('authorization'));
    if (!token) {
      throw ApiError.unauthenticated();
    }
    const principal = await this.verifier.verify(token);
    // A route without @RequireRole is a read: any role of the gateway reads (viewer is the read role,
    // and every other role includes reading); a token with none reads nothing.
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? ROLES;
    req.principal = principal.forRoute(roles);
    if (!roles.some((r) => principal.hasRole(r))) {
      throw ApiError.forbidden(`This needs one of the roles: ${roles.join(', ')}.`);
    }
    return true;
  }
}
