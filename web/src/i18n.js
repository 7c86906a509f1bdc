// i18n.js - the UI's strings in English and Chinese.  The language comes
// from navigator.language once at start; t(key, ...args) fills {0}, {1}.
const STRINGS = {
  en: {
    title: 'tinylm chat', newChat: 'New chat', conversations: 'Conversations', del: 'Delete',
    send: 'Send', stop: 'Stop', regenerate: 'Regenerate', edit: 'Edit', resend: 'Save & send',
    cancel: 'Cancel', copy: 'Copy', copied: 'Copied', settings: 'Settings', model: 'Model',
    modelB: 'Model B', compare: 'Compare', system: 'System prompt', temperature: 'Temperature',
    topP: 'Top p', topK: 'Top k', minP: 'Min p', maxTokens: 'Max tokens', seed: 'Seed', settingsB: 'Settings of B',
    sameAsA: 'empty = same as A', apiKey: 'API key', placeholder: 'Message (Enter to send, Shift+Enter for a new line, Esc to stop)',
    ttft: 'first token', tps: 'tok/s', prompt: 'prompt', completion: 'completion', total: 'total',
    synthetic: 'Synthetic model: random weights, the text is meaningless',
    stopped: 'stopped', error: 'Error: {0}', empty: 'Ask something to start.',
    fasterFirst: 'Faster first token: {0} ({1} vs {2})', fasterGen: 'Faster generation: {0} ({1} vs {2})',
    longer: 'Longer answer: {0} ({1} vs {2} tokens)', sameLength: 'Same length: {0} tokens',
    summary: 'Summary', noModels: 'No models (is the server running?)', confirmDelete: 'Delete this conversation?',
    menu: 'Menu', you: 'You', untitled: 'New chat', loading: 'Loading models…',
    reports: 'Reports', noReports: 'No reports yet (tinylm compare writes them)', refresh: 'Refresh',
  },
  zh: {
    title: 'tinylm 对话', newChat: '新对话', conversations: '对话列表', del: '删除',
    send: '发送', stop: '停止', regenerate: '重新生成', edit: '编辑', resend: '保存并发送',
    cancel: '取消', copy: '复制', copied: '已复制', settings: '设置', model: '模型',
    modelB: '模型 B', compare: '对比', system: '系统提示词', temperature: '温度',
    topP: 'Top p', topK: 'Top k', minP: 'Min p', maxTokens: '最大 token 数', seed: '随机种子', settingsB: 'B 的设置',
    sameAsA: '留空 = 与 A 相同', apiKey: 'API 密钥', placeholder: '输入消息（Enter 发送，Shift+Enter 换行，Esc 停止）',
    ttft: '首 token', tps: 'token/秒', prompt: '提示', completion: '生成', total: '总计',
    synthetic: '合成模型：随机权重，输出的文字没有意义',
    stopped: '已停止', error: '错误：{0}', empty: '输入问题开始对话。',
    fasterFirst: '首 token 更快：{0}（{1} 对 {2}）', fasterGen: '生成更快：{0}（{1} 对 {2}）',
    longer: '回答更长：{0}（{1} 对 {2} 个 token）', sameLength: '长度相同：{0} 个 token',
    summary: '总结', noModels: '没有模型（服务器在运行吗？）', confirmDelete: '删除这个对话？',
    menu: '菜单', you: '你', untitled: '新对话', loading: '正在加载模型…',
    reports: '评测报告', noReports: '还没有报告（由 tinylm compare 生成）', refresh: '刷新',
  },
};

export function pickLang(nav) {
  const l = String((nav && nav.language) || 'en').toLowerCase();
  return l.startsWith('zh') ? 'zh' : 'en';
}

export const lang = pickLang(typeof navigator === 'undefined' ? null : navigator);

export function t(key, ...args) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)]));
}
