export { buildHttp, httpApi, notFound } from './http/index.js';
